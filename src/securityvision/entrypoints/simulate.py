"""``securityvision simulate``: publish simulated gateway and camera traffic to the broker.

The generation is :mod:`securityvision.adapters.mqtt.simulator`'s (gateways) and
:mod:`securityvision.adapters.mqtt.camera_simulator`'s (cam-bus cameras); this module paces
it in real time and publishes it. :func:`run_simulation` is the same loop for
``securityvision dev --simulate``, stopped by an event instead of Ctrl-C.
"""

import asyncio
import contextlib
import math
import secrets
import signal
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Self

import aiomqtt
import click
import msgspec

from securityvision.adapters.mqtt.camera_simulator import CameraSimulator
from securityvision.adapters.mqtt.simulator import (
    MIXED,
    PAYLOAD_FORMATS,
    Publication,
    TrafficSimulator,
)
from securityvision.config import ConfigError, Secret, Settings, load_settings
from securityvision.entrypoints.progress import timed, watched

__all__ = ["SimulationOptions", "SimulationSummary", "run_simulation", "simulate"]

# Gateways upload in batches; half a second keeps batches realistic and pacing smooth.
TICK_SECONDS = 0.5
PROGRESS_SECONDS = 5.0
# Publications awaiting their PUBACK at once: enough to keep a broker busy, few enough that
# aiomqtt's bookkeeping (and its "pending publish calls" warning) stays quiet.
IN_FLIGHT = 100
_CONNECT_TIMEOUT = 10.0


class SimulationOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Where to publish and what. ``duration`` 0 runs until stopped; ``seed`` None draws one
    (the summary tells which, so a run can be replayed)."""

    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: Secret | None = None
    tls: bool = False
    prefix: str = "rtls/gateways"
    gateways: int = 5
    tags: int = 20
    rate: float = 10.0
    duration: float = 0.0
    payload_format: str = MIXED
    seed: int | None = None
    qos: int = 1
    # cam-bus cameras: statuses every 15 s, faces captured (and some recognised).
    cameras: int = 0
    cambus_prefix: str = "rtls/cameras"
    captures_per_minute: float = 4.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The broker, credentials and topic prefix the worker uses; the rest defaults."""
        return cls(
            host=settings.mqtt_host,
            port=settings.rtls_mqtt_port,
            username=settings.rtls_mqtt_username,
            password=settings.rtls_mqtt_password,
            tls=settings.rtls_mqtt_tls,
            prefix=settings.rtls_mqtt_topic_prefix,
            cambus_prefix=settings.cambus_mqtt_base_topic,
        )


class SimulationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a run published, so far or in all."""

    messages: int
    readings: int
    heartbeats: int
    elapsed: float
    seed: int
    camera_messages: int = 0

    @property
    def readings_per_second(self) -> float:
        return self.readings / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        cameras = f", {self.camera_messages:,} camera messages" if self.camera_messages else ""
        return (
            f"{self.messages:,} messages, {self.readings:,} readings, "
            f"{self.heartbeats:,} heartbeats{cameras} in {self.elapsed:.1f} s "
            f"({self.readings_per_second:,.0f} readings/s, seed {self.seed})"
        )


async def run_simulation(
    options: SimulationOptions,
    *,
    stop: asyncio.Event | None = None,
    progress: Callable[[SimulationSummary], None] | None = None,
) -> SimulationSummary:
    """Publish simulated traffic at ``options.rate`` readings per second until
    ``options.duration`` has passed or ``stop`` is set; raises ``ConnectionError`` when the
    broker cannot be reached or drops us."""
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    simulator = TrafficSimulator(
        gateways=options.gateways,
        tags=options.tags,
        seed=seed,
        prefix=options.prefix,
        payload_format=options.payload_format,
    )
    cameras = CameraSimulator(
        cameras=options.cameras,
        seed=seed,
        prefix=options.cambus_prefix,
        captures_per_minute=options.captures_per_minute,
    )
    stop = stop or asyncio.Event()
    client = aiomqtt.Client(
        options.host,
        options.port,
        username=options.username,
        password=options.password.reveal() if options.password else None,
        tls_context=ssl.create_default_context() if options.tls else None,
        protocol=aiomqtt.ProtocolVersion.V311,
        identifier=f"securityvision-simulator-{secrets.token_hex(4)}",
        timeout=_CONNECT_TIMEOUT,
        max_inflight_messages=IN_FLIGHT,
    )
    client.pending_calls_threshold = IN_FLIGHT
    window = asyncio.Semaphore(IN_FLIGHT)

    async def send(publication: Publication) -> None:
        async with window:
            await client.publish(
                publication.topic, publication.payload, qos=options.qos, retain=publication.retain
            )

    counts = _Counts(seed)
    with _broker_errors(options):
        async with client:
            started = time.monotonic()
            last_progress = started
            ends = 0.0
            # Each tick publishes what was heard in the half second that just ended, as a
            # gateway uploads its batch: the rate reported is then the rate sent.
            while not (options.duration and ends >= options.duration):
                ends += TICK_SECONDS
                if options.duration:
                    ends = min(ends, options.duration)
                await _sleep_unless_stopped(stop, started + ends - time.monotonic())
                if stop.is_set():
                    break
                due = math.floor(options.rate * ends) - counts.generated
                counts.generated += due
                moment = datetime.now(UTC)
                publications = simulator.tick(moment, due)
                from_cameras = cameras.tick(moment)
                await asyncio.gather(*(send(p) for p in [*publications, *from_cameras]))
                counts.add(publications)
                counts.camera_messages += len(from_cameras)
                now = time.monotonic()
                if progress is not None and now - last_progress >= PROGRESS_SECONDS:
                    last_progress = now
                    progress(counts.summary(now - started))
            return counts.summary(time.monotonic() - started)


class _Counts:
    __slots__ = ("camera_messages", "generated", "heartbeats", "messages", "readings", "seed")

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.camera_messages = 0
        self.generated = 0
        self.messages = 0
        self.readings = 0
        self.heartbeats = 0

    def add(self, publications: list[Publication]) -> None:
        for publication in publications:
            self.messages += 1
            self.readings += publication.readings
            self.heartbeats += publication.readings == 0

    def summary(self, elapsed: float) -> SimulationSummary:
        return SimulationSummary(
            messages=self.messages,
            readings=self.readings,
            heartbeats=self.heartbeats,
            elapsed=elapsed,
            seed=self.seed,
            camera_messages=self.camera_messages,
        )


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()


@contextlib.contextmanager
def _broker_errors(options: SimulationOptions) -> Iterator[None]:
    try:
        yield
    except aiomqtt.MqttError as exc:
        raise ConnectionError(f"broker {options.host}:{options.port}: {exc}") from exc


# --- the command ----------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, and only it.")
@click.option("--host", help="Broker host.  [default: RTLS_MQTT_HOST, else localhost]")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Broker port.  [default: RTLS_MQTT_PORT]"
)
@click.option("--gateways", default=5, show_default=True, type=click.IntRange(1, 4000))
@click.option("--tags", default=20, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option(
    "--rate",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Readings per second, all gateways together.",
)
@click.option(
    "--duration",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds to run; 0 runs until Ctrl-C.",
)
@click.option(
    "--format",
    "payload_format",
    default=MIXED,
    show_default=True,
    type=click.Choice([*PAYLOAD_FORMATS, MIXED]),
    help="Payload format; mixed gives each gateway one of the others in turn.",
)
@click.option("--prefix", help="Topic prefix.  [default: RTLS_MQTT_TOPIC without /#]")
@click.option(
    "--cameras",
    default=2,
    show_default=True,
    type=click.IntRange(0, 500),
    help="cam-bus cameras: status every 15 s, collector status, faces captured and recognised.",
)
@click.option(
    "--captures-per-minute",
    default=4.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Faces each camera captures per minute (about 60% then recognised).",
)
@click.option("--cambus-prefix", help="Camera topic prefix.  [default: CAMBUS_MQTT_BASE_TOPIC]")
@click.option("--seed", type=int, help="Repeat a run: same seed, same traffic.")
@click.option("--qos", default=1, show_default=True, type=click.IntRange(0, 2))
def simulate(
    *,
    as_json: bool,
    host: str | None,
    port: int | None,
    gateways: int,
    tags: int,
    rate: float,
    duration: float,
    payload_format: str,
    prefix: str | None,
    cameras: int,
    captures_per_minute: float,
    cambus_prefix: str | None,
    seed: int | None,
    qos: int,
) -> None:
    """Publish simulated RTLS gateway traffic: tags walking between gateways, heard in every
    payload format the worker reads, plus a heartbeat per gateway every 10 s; and cam-bus
    camera traffic: each camera's status every 15 s (retained) with its collector's, and
    faceCapture events with a small JPEG inline, some followed by a faceRecognized.
    Cameras are SIM-CAM-01, SIM-CAM-02, ... (`dev --simulate` registers them). Credentials
    and TLS come from RTLS_MQTT_USERNAME, RTLS_MQTT_PASSWORD and RTLS_MQTT_TLS.

    \b
    Example:  securityvision simulate --gateways 10 --tags 200 --rate 500 --duration 60
    """
    try:
        base = SimulationOptions.from_settings(load_settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    options = msgspec.structs.replace(
        base,
        host=host or base.host,
        port=port or base.port,
        prefix=prefix or base.prefix,
        cambus_prefix=cambus_prefix or base.cambus_prefix,
        cameras=cameras,
        captures_per_minute=captures_per_minute,
        gateways=gateways,
        tags=tags,
        rate=rate,
        duration=duration,
        payload_format=payload_format,
        seed=seed,
        qos=qos,
    )
    click.echo(
        f"Publishing to {options.host}:{options.port} under {options.prefix}/: "
        f"{gateways} gateways, {tags} tags, {rate:g} readings/s ({payload_format})",
        err=as_json,
    )
    if cameras:
        click.echo(f"  and {cameras} cameras under {options.cambus_prefix}/", err=as_json)
    try:
        summary = asyncio.run(_simulate_until_interrupted(options, quiet=as_json))
    except ConnectionError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        rate_field = {"readings_per_second": round(summary.readings_per_second, 1)}
        click.echo(msgspec.json.encode(msgspec.structs.asdict(summary) | rate_field).decode())
        return
    click.echo(f"Published {summary.line()}")


async def _simulate_until_interrupted(
    options: SimulationOptions, *, quiet: bool = False
) -> SimulationSummary:
    """Progress: a bar over the duration when someone watches, else a line every few
    seconds; nothing when ``quiet``."""
    stop = asyncio.Event()
    with (
        _stop_on_signals(stop),
        timed("Publishing", options.duration or None, show=not quiet) as bar,
    ):

        def progress(summary: SimulationSummary) -> None:
            if watched():
                bar.note(summary.line())
            elif not quiet:
                click.echo(f"  {summary.line()}")

        return await run_simulation(options, stop=stop, progress=progress)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Ctrl-C ends the run with its summary rather than a traceback. Signals reach only the
    main thread, so elsewhere (a test calling the command from a thread) nothing is set."""
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
    try:
        yield
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)

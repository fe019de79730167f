"""The ``securityvision`` command."""

import asyncio
import contextlib
import functools
import gc
import getpass
import secrets
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec
import uvicorn
from prometheus_client import REGISTRY

from securityvision.adapters.embedded import EmbeddedBroker, EmbeddedPostgres, port_in_use
from securityvision.adapters.mqtt.camera_simulator import camera_code as simulated_camera_code
from securityvision.adapters.mqtt.simulator import gateway_mac as simulated_gateway_mac
from securityvision.adapters.mqtt.simulator import tag_mac as simulated_tag_mac
from securityvision.adapters.postgres.migrator import apply_migrations, migration_status
from securityvision.adapters.prometheus import WorkerMetrics
from securityvision.application.identity import UserDraft
from securityvision.application.people import PersonDraft
from securityvision.application.presence_totals import TotalsRefresh
from securityvision.application.rollup import DayRollup
from securityvision.application.tags import TagDraft
from securityvision.config import ConfigError, Secret, Settings, check_serving_safety, load_settings
from securityvision.container import Container, build_container
from securityvision.domain.devices import NewDevice
from securityvision.domain.errors import DomainError, NotFound, StorageError
from securityvision.domain.identity import Role
from securityvision.domain.sites import NewBuilding, NewFloor, NewFloorPlan
from securityvision.entrypoints.camera_worker import CameraWorker
from securityvision.entrypoints.doctor import doctor
from securityvision.entrypoints.http import create_app
from securityvision.entrypoints.http.transport import KEEP_ALIVE_SECONDS, NoDelayH11Protocol
from securityvision.entrypoints.logs import configure_logging
from securityvision.entrypoints.progress import steps, watched
from securityvision.entrypoints.simulate import SimulationOptions, run_simulation, simulate
from securityvision.entrypoints.worker import IngestWorker

T = TypeVar("T")
STATE_DIR = Path(".securityvision")
DEV_SUPERADMIN_EMAIL = "admin@securityvision.local"
DEV_SIMULATION_RATE = 20.0  # readings/s: lively on screen, nothing on the machine
SHUTDOWN_TIMEOUT_SECONDS = 5
DEV_SIMULATED_CAMERAS = 2


class Failure(click.ClickException):
    """One clear line and a non-zero exit, instead of a traceback."""

    def format_message(self) -> str:
        return self.message

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def friendly_errors(command: Callable[..., T]) -> Callable[..., T]:
    """Turn the errors a user can act on into one line; ``--debug`` re-raises them."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return command(*args, **kwargs)
        except (ConfigError, StorageError, DomainError, OSError) as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            message = exc.detail if isinstance(exc, DomainError) else str(exc)
            raise Failure(message.splitlines()[0] if message else type(exc).__name__) from exc

    return wrapper


class FriendlyGroup(click.Group):
    """No subcommand prints a traceback unless ``--debug``: what ``friendly_errors`` does for
    the errors a user can act on, this does for the rest — a plain ``ClickException`` of a
    command module becomes the same ``error: ...`` line (``--debug`` shows its cause), and an
    unexpected exception one line naming it (``--debug`` re-raises it)."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.UsageError, Failure):
            raise
        except click.ClickException as exc:
            if debug and exc.__cause__ is not None:
                raise exc.__cause__ from None
            raise Failure(exc.format_message()) from exc
        except Exception as exc:
            if debug:
                raise
            first = (str(exc).strip().splitlines() or [""])[0]
            raise Failure(
                f"unexpected {type(exc).__name__}{': ' + first if first else ''}"
                " (--debug shows the traceback)"
            ) from exc


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="securityvision")
def main(debug: bool) -> None:
    """SecurityVision: the backend of a physical-security control room. It ingests BLE
    gateway and camera (cam-bus) traffic over MQTT into PostgreSQL, keeps presence and
    incidents, and serves them through a REST API. Each command's --help has an example.

    \b
    Start everything locally:   securityvision dev --simulate
    Check an installation:      securityvision doctor
    Apply schema migrations:    securityvision migrate
    Serve the API:              securityvision serve --port 8000
    Ingest MQTT traffic:        securityvision worker
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to serve on.")
@click.option(
    "--simulate",
    is_flag=True,
    help="Also publish realistic gateway traffic (people and tags registered for it).",
)
@friendly_errors
def dev(host: str, port: int, simulate: bool) -> None:
    """Everything in one process, for a newcomer.

    With no DATABASE_URL/RTLS_DB_HOST it runs an embedded PostgreSQL (data under
    ./.securityvision/), with no RTLS_MQTT_HOST an embedded MQTT broker on
    127.0.0.1:RTLS_MQTT_PORT; applies migrations; creates the superadmin (printing a generated
    password once when SUPERADMIN_* is not set); serves the API. Ctrl-C stops it all.

    \b
    Example:  securityvision dev --simulate
    """
    settings = load_settings(dev=True)
    configure_logging(settings)
    STATE_DIR.mkdir(mode=0o700, exist_ok=True)
    if settings.jwt_key is None:
        settings = msgspec.structs.replace(settings, jwt_secret=Secret(_dev_jwt_secret()))
    _run(_dev(settings, host, port, simulate))


async def _dev(settings: Settings, host: str, port: int, simulate: bool) -> None:
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    if settings.allow_anonymous_dev_mode:
        click.echo("ALLOW_ANONYMOUS_DEV_MODE is ignored: anonymous access does not exist.")
    if port_in_use(host, port):
        raise ConfigError(f"--port: {host}:{port} is already in use")
    try:
        if settings.rtls_mqtt_host is None:
            if port_in_use("127.0.0.1", settings.rtls_mqtt_port):
                raise ConfigError(
                    f"RTLS_MQTT_PORT: 127.0.0.1:{settings.rtls_mqtt_port} is already in use;"
                    " set RTLS_MQTT_HOST to use that broker, or RTLS_MQTT_PORT to embed one"
                    " on another port"
                )
            broker = EmbeddedBroker("127.0.0.1", settings.rtls_mqtt_port)
            await broker.start()
            # The embedded broker speaks MQTT 3.1.1 only.
            settings = msgspec.structs.replace(
                settings, rtls_mqtt_host="127.0.0.1", rtls_mqtt_protocol="3.1.1"
            )
            click.echo(f"Embedded MQTT broker on 127.0.0.1:{settings.rtls_mqtt_port}")
        if not settings.database_configured:
            postgres = EmbeddedPostgres(STATE_DIR / "pgdata")
            uri = await asyncio.to_thread(postgres.start)
            settings = msgspec.structs.replace(settings, database_url=Secret(uri))
            click.echo(f"Embedded PostgreSQL with data in {STATE_DIR / 'pgdata'}")
        await _serve_dev(settings, host, port, simulate)
    finally:
        if broker is not None:
            await broker.stop()
        if postgres is not None:
            await asyncio.to_thread(postgres.stop)


async def _serve_dev(settings: Settings, host: str, port: int, simulate: bool) -> None:
    for label in await apply_migrations(settings.database_conninfo()):
        click.echo(f"Applied migration {label}")
    container = build_container(settings)
    storage = container.storage()
    await storage.open()
    stop = asyncio.Event()
    background: list[asyncio.Task[Any]] = []
    try:
        email = settings.superadmin_email or DEV_SUPERADMIN_EMAIL
        password = settings.superadmin_password.reveal() if settings.superadmin_password else None
        result = await container.bootstrap_superadmin().execute(
            email, settings.superadmin_name, password
        )
        if result.generated_password is not None:
            click.echo(f"Superadmin e-mail: {result.email}")
            click.echo(f"Superadmin password: {result.generated_password}")
        # One process, one metrics endpoint: the worker reports into the API's registry.
        background += [
            asyncio.create_task(work)
            for work in _workers(settings, container, WorkerMetrics(REGISTRY), stop)
        ]
        # The API runs with manage_storage=False here, so the outbox relays start here too.
        background += [asyncio.create_task(relay.run(stop)) for relay in container.relays()]
        if container.cambus_publishing() is not None:
            background.append(asyncio.create_task(container.uplink_expiry().run(stop)))
        if simulate:
            options = msgspec.structs.replace(
                SimulationOptions.from_settings(settings),
                rate=DEV_SIMULATION_RATE,
                cameras=DEV_SIMULATED_CAMERAS if settings.cambus_mqtt_enabled else 0,
            )
            await _register_simulated_people(container, options.tags, options.gateways)
            await _register_simulated_cameras(container, options.cameras)
            click.echo(
                f"Simulating {options.gateways} gateways and {options.tags} tagged people"
                f" ({options.rate:.0f} readings/s), {options.cameras} cameras"
            )
            background.append(asyncio.create_task(run_simulation(options, stop=stop)))
        app = create_app(container, manage_storage=False)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            lifespan="on",
            http=NoDelayH11Protocol,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        click.echo(f"API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
        await _QuietServer(config).serve()
    finally:
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)
        await storage.close()
    click.echo("Stopped.")


async def _register_simulated_people(container: Container, tags: int, gateways: int) -> None:
    """Give every simulated tag a person and place the simulated gateways on a demo floor
    plan, so the traffic shows up as people on a map at once; what a second run finds
    registered is left as it is."""
    if not await container.list_devices().execute():
        building = await container.create_building().execute(
            NewBuilding(name="Demo building", code="DEMO")
        )
        floor = await container.create_floor().execute(
            NewFloor(building_id=building.id, name="Ground floor", level=0)
        )
        plan = await container.create_floor_plan().execute(
            NewFloorPlan(floor_id=floor.id, name="Ground_floor_01")
        )
        for index in range(gateways):
            mac = simulated_gateway_mac(index)
            await container.create_device().execute(
                NewDevice(
                    name=f"Gateway {index + 1}",
                    code=f"GW_{mac.replace(':', '')}",
                    mac_address=mac,
                    floor_plan_id=plan.id,
                    pos_x=(index + 1) / (gateways + 1),
                    pos_y=0.5,
                )
            )
    for index in range(tags):
        mac = simulated_tag_mac(index)
        try:
            await container.find_tag_by_mac().execute(mac)
            continue
        except NotFound:
            pass
        person = await container.create_person().execute(
            PersonDraft(full_name=f"Simulated person {index + 1}", notes="securityvision dev")
        )
        await container.create_tag().execute(
            TagDraft(mac_address=mac, label=f"Badge {index + 1}", person_id=person.person.id)
        )


async def _register_simulated_cameras(container: Container, cameras: int) -> None:
    """Register the simulated cameras (SIM-CAM-01, ...) on the demo building's first floor,
    so their faces open incidents at once; those already registered are left as they are."""
    known = {(c.code or "").upper() for c in await container.list_cameras().execute(limit=1000)}
    missing = [i for i in range(cameras) if simulated_camera_code(i) not in known]
    if not missing:
        return
    building_id = floor_id = None
    with contextlib.suppress(NotFound):
        building = await container.get_building_by_code().execute("DEMO")
        floors = await container.list_floors().execute(building_id=building.id)
        if floors:
            building_id, floor_id = building.id, floors[0].id
    for index in missing:
        await container.create_camera().execute(
            NewDevice(
                name=f"Simulated camera {index + 1}",
                code=simulated_camera_code(index),
                ip_address=f"10.0.9.{index + 10}",
                manufacturer="Hikvision",
                model="any",
                analytics=("faceCapture",),
                building_id=building_id,
                floor_id=floor_id,
            )
        )


class _QuietServer(uvicorn.Server):
    """Stops on Ctrl-C or SIGTERM without re-raising the signal afterwards, so ``dev`` can
    still stop the embedded broker and database it started, in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def _dev_jwt_secret() -> str:
    """Dev mode keeps one generated JWT secret under .securityvision/, so a restart does not
    log everyone out."""
    path = STATE_DIR / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to serve on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes serving requests.",
)
@click.option(
    "--shutdown-timeout",
    default=SHUTDOWN_TIMEOUT_SECONDS,
    show_default=True,
    type=click.IntRange(0, 600),
    help="On SIGTERM, seconds to let requests finish before open event streams are closed.",
)
@friendly_errors
def serve(host: str, port: int, workers: int, shutdown_timeout: int) -> None:
    """Serve the HTTP API alone (applies migrations first unless RUN_MIGRATIONS=0).

    \b
    Example:  securityvision serve --host 0.0.0.0 --port 8000 --workers 4
    """
    settings = load_settings()
    check_serving_safety(settings)
    configure_logging(settings)
    # Settle the schema once, here, so a schema that is behind is one clear line rather than
    # a failed start-up in every worker.
    _run(_settle_schema(settings))
    uvicorn.run(
        "securityvision.entrypoints.http:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
        http=NoDelayH11Protocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # Event streams never end by themselves: without a limit they would hold the
        # shutdown forever. Clients reconnect (to another replica) on their own.
        timeout_graceful_shutdown=shutdown_timeout,
    )


@main.command()
@friendly_errors
def worker() -> None:
    """The MQTT worker alone: ingests gateway traffic (and cam-bus camera events and
    statuses, with CAMBUS_MQTT_ENABLED) into PostgreSQL.

    Many workers may run side by side; with MQTT_SHARED_GROUP set they split the load.
    Serves its own Prometheus metrics on WORKER_METRICS_HOST:WORKER_METRICS_PORT.

    \b
    Example:  MQTT_SHARED_GROUP=ingest securityvision worker
    """
    settings = load_settings()
    configure_logging(settings)
    _run(_worker(settings))


async def _worker(settings: Settings) -> None:
    container = build_container(settings)
    storage = container.storage()
    await _settle_schema(settings)
    await storage.open()
    metrics = WorkerMetrics()
    metrics.serve(settings.worker_metrics_host, settings.worker_metrics_port)
    # Everything built so far lives as long as the process: out of the collector's sight, a
    # full collection no longer walks it while batches allocate (~15 % of the worker's CPU
    # at ingest, bench/ingest_batches.py).
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        click.echo(f"Worker ingesting {settings.rtls_mqtt_topic} from {settings.mqtt_host}")
        await asyncio.gather(*_workers(settings, container, metrics, stop))
    finally:
        await storage.close()
    click.echo("Stopped.")


main.add_command(simulate)
main.add_command(doctor)


@main.command()
@click.option(
    "--retention-days",
    type=click.IntRange(0, 36500),
    default=None,
    help="Keep raw data this many days.  [default: PRESENCE_LOG_RETENTION_DAYS]",
)
@click.option("--dry-run", is_flag=True, help="Say what would be rolled up; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@friendly_errors
def rollup(retention_days: int | None, dry_run: bool, as_json: bool) -> None:
    """Roll presence up into daily usage for every day (in PRESENCE_TIMEZONE) that ended more
    than N days ago, then drop those days' sessions and raw readings; then bring the
    presence totals the overview reads up to date. Idempotent.

    \b
    Example:  securityvision rollup --retention-days 30 --dry-run
    """
    settings = load_settings()
    configure_logging(settings)
    days = retention_days if retention_days is not None else settings.presence_log_retention_days
    done, totals = _run(_rollup(settings, days, dry_run, show=not as_json))
    if as_json:
        click.echo(msgspec.json.encode(done).decode())
        return
    verb = "would roll up" if dry_run else "rolled up"
    for day in done:
        click.echo(f"{verb}  {day.day}  {day.sessions} sessions, {day.readings} readings")
    click.echo(f"{len(done)} day(s) {verb}; raw data kept from {days} day(s) ago")
    refreshed = "would refresh" if dry_run else "refreshed"
    click.echo(f"presence totals: {totals.hours} hour(s) {refreshed}")


async def _rollup(
    settings: Settings, retention_days: int, dry_run: bool, *, show: bool = True
) -> tuple[list[DayRollup], TotalsRefresh]:
    container = build_container(settings)
    storage = container.storage()
    await _settle_schema(settings)
    await storage.open()
    try:
        with steps("Rolling up days", None, show=show) as bar:
            done = await container.roll_up_presence().execute(
                retention_days,
                dry_run=dry_run,
                on_day=lambda day, total: bar.advance(str(day.day), total=total),
            )
        # The days rolled up left their hours dirty: redone now rather than by the worker.
        with steps("Refreshing presence totals", None, show=show):
            totals = await container.refresh_presence_totals().execute(dry_run=dry_run)
        return done, totals
    finally:
        await storage.close()


def _workers(
    settings: Settings, container: Container, metrics: WorkerMetrics, stop: asyncio.Event
) -> list[Coroutine[Any, Any, None]]:
    """The worker's parts: gateway traffic always, cam-bus when CAMBUS_MQTT_ENABLED."""
    parts = [IngestWorker(settings, container, metrics).run(stop)]
    if settings.cambus_mqtt_enabled:
        parts.append(CameraWorker(settings, container, metrics).run(stop))
    return parts


async def _settle_schema(settings: Settings) -> None:
    storage = build_container(settings).storage()
    for label in await storage.ensure_schema(apply=settings.run_migrations):
        # On stderr, with the logs: stdout carries a command's results (its --json).
        click.echo(f"applied  {label}", err=True)


@main.command()
@click.option("--status", "show_status", is_flag=True, help="List migrations; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@friendly_errors
def migrate(show_status: bool, as_json: bool) -> None:
    """Apply pending schema migrations (idempotent; safe to run from many processes).

    \b
    Example:  securityvision migrate --status
    """
    settings = load_settings()
    conninfo = settings.database_conninfo()
    if show_status:
        status = _run(migration_status(conninfo))
        if as_json:
            click.echo(
                msgspec.json.encode(
                    {
                        "applied": status.applied,
                        "pending": status.pending,
                        "up_to_date": status.up_to_date,
                    }
                ).decode()
            )
            return
        for label in status.applied:
            click.echo(f"applied  {label}")
        for label in status.pending:
            click.echo(f"pending  {label}")
        click.echo("up to date" if status.up_to_date else f"{len(status.pending)} pending")
        return
    applied = _run(_migrate(conninfo, show=not as_json))
    if as_json:
        click.echo(msgspec.json.encode({"applied": applied, "up_to_date": True}).decode())
        return
    click.echo("up to date")


async def _migrate(conninfo: str, *, show: bool) -> list[str]:
    """Apply the pending migrations, saying each as it commits (with a bar when watched)."""
    total = len((await migration_status(conninfo)).pending) if show and watched() else None

    with steps("Migrating", total, show=show) as bar:

        def applied(label: str) -> None:
            bar.advance(label)
            if show:
                click.echo(f"applied  {label}")

        return await apply_migrations(conninfo, on_applied=applied)


@main.command("create-user")
@click.option("--email", required=True, help="The user's e-mail (their login).")
@click.option("--name", "full_name", default=None, help="Full name.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role], case_sensitive=False),
    default=Role.OPERATOR.value,
    show_default=True,
    help="What the user may do.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (no prompt)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the created user as JSON.")
@friendly_errors
def create_user(
    email: str, full_name: str | None, role: str, password_stdin: bool, as_json: bool
) -> None:
    """Create a user. The password comes from a prompt or, with --password-stdin, from
    standard input; never from the command line, and it is never printed.

    \b
    Example:  securityvision create-user --email ana@example.com --name "Ana" --role ADMIN
    """
    password = _read_password(password_stdin)
    settings = load_settings()
    draft = UserDraft(
        email=email,
        password=password,
        full_name=full_name,
        role=Role(role.upper()),
        is_superuser=role.upper() == Role.SUPERADMIN,
    )
    user = _run(_create_user(settings, draft))
    if as_json:
        fields = {"id": user.id, "email": user.email, "full_name": user.full_name}
        click.echo(msgspec.json.encode(fields | {"role": str(user.role)}).decode())
        return
    click.echo(f"created user {user.id} {user.email} ({user.role})")


async def _create_user(settings: Settings, draft: UserDraft) -> Any:
    container = build_container(settings)
    storage = container.storage()
    await _settle_schema(settings)
    await storage.open()
    try:
        return await container.create_user().execute(draft, actor=None)
    finally:
        await storage.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ConfigError("--password-stdin: no terminal to prompt on; pipe the password in")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise ConfigError("password: the two entries differ")
    return first

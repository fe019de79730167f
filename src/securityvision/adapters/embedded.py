"""Embedded PostgreSQL and MQTT broker for ``securityvision dev`` and the test suite.

They exist so that a fresh clone runs and tests with nothing installed but Python: the
``pgserver`` wheel carries PostgreSQL's binaries, ``amqtt`` is a broker in pure Python. Both
come with the optional extra ``securityvision[embedded]`` and are imported only when a
service is started, so importing this module costs nothing and needs neither.

The embedded PostgreSQL (pgserver 0.1.4, PostgreSQL 16) listens on a Unix socket in its
data directory only, never on TCP; its URL names that socket
(``postgresql://postgres@/postgres?host=<dir>&port=5432``), which psycopg and libpq accept.
Run as root, pgserver creates a system user ``pgserver`` (``useradd``) to run the server
as, gives it the data directory, and opens every parent directory of it to others for
traversal (``chmod g+rx,o+rx``) — keep the data directory somewhere that may be opened so.

The embedded broker is amqtt 0.12, and it is not Mosquitto:

- it speaks MQTT 3.1.1 only. A CONNECT for MQTT 5 is refused with CONNACK reason 132
  ("Unsupported protocol version"); an MQTT 3.1 CONNECT gets no answer at all. A client
  meant to work against both this broker and Mosquitto connects with MQTT 3.1.1 (aiomqtt's
  default, ``protocol=aiomqtt.ProtocolVersion.V311``); MQTT 5 works against Mosquitto only;
- QoS 0, 1 and 2, retained messages and wills work;
- persistent sessions (``clean_session=False``: subscriptions kept and QoS 1/2 messages
  queued while the client is away) work only because this module replaces amqtt's
  ``AnonymousAuthPlugin``: that plugin marks every client it lets in as anonymous, with or
  without a user name, and amqtt forgets anonymous sessions when they disconnect;
- but an unacknowledged QoS 1/2 message is not redelivered: when a subscriber goes away
  before its PUBACK (or does not send it within 5 seconds) amqtt drops the message from the
  session, so a reconnecting persistent client does not get it again (amqtt issue #401,
  MQTT-4.4.0-1). "Acknowledge only after commit" protects against a crash on Mosquitto,
  not here; tests of redelivery need Mosquitto;
- shared subscriptions (``$share/<group>/<filter>``) are not supported: the filter is taken
  literally and matches nothing, so ``MQTT_SHARED_GROUP`` must stay unset against it;
- everything lives in memory: sessions, queued and retained messages end with the broker;
- no ``$SYS`` topics, no TLS, no authentication: every client is let in, and it listens on
  127.0.0.1 unless told otherwise.
"""

import asyncio
import contextlib
import errno
import importlib
import json
import logging
import os
import socket
import subprocess
import threading
import time
import warnings
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Self
from urllib.parse import quote

__all__ = [
    "BackgroundBroker",
    "EmbeddedBroker",
    "EmbeddedPostgres",
    "EmbeddedServiceError",
    "free_port",
    "port_in_use",
]

log = logging.getLogger("securityvision.embedded")

DEFAULT_MQTT_HOST = "127.0.0.1"
DEFAULT_MQTT_PORT = 1883

# amqtt logs every connection, packet and state change at INFO (the state machine library
# it uses, ``transitions``, too), pgserver every command line it runs; an application that
# logs at INFO would drown in them.
_NOISY_LOGGERS = ("amqtt", "transitions", "pgserver")

# The name under which the broker's auth plugin is published in this module: amqtt loads
# plugins by dotted path, and the class can only be built once amqtt is imported.
_AUTH_PLUGIN_NAME = "_LetEveryClientIn"

# How often a broker asked for "any free port" (port 0) tries another one when the port it
# picked was taken in the meantime by someone else.
_FREE_PORT_ATTEMPTS = 5
# How long a start may take. pgserver gives ``pg_ctl start`` 10 s and then gives up, while
# PostgreSQL, on a busy machine, is often still coming up: the rest of that wait is ours.
_POSTGRES_START_SECONDS = 120.0


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not start (port taken, extra not installed, server failed)."""


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host``:``port``, so a server of ours could not.

    Found out by binding, as a server would, with ``SO_REUSEADDR`` so that connections of a
    server that just stopped (TIME_WAIT) do not count. A connection attempt answers another
    question, whether someone accepts at that one address, and misses a listener on another
    local address of the port that would still make our bind fail. Every address ``host``
    resolves to is checked; errors other than "address in use" (an address not on this
    machine, a privileged port) are raised.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return True
                raise
    return False


def free_port(host: str = DEFAULT_MQTT_HOST) -> int:
    """A TCP port nothing listens on at ``host`` now, chosen by the kernel.

    It can be taken by someone else before it is used; callers that must not fail retry.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _import_extra(module: str) -> ModuleType:
    """Import a module of the optional extra ``embedded``, saying how to install it if missing.

    Imported here, when a service starts, so that importing this module needs neither.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        msg = (
            f"the embedded services need {module.partition('.')[0]}, an optional extra: "
            "pip install 'securityvision[embedded]'"
        )
        raise EmbeddedServiceError(msg) from error


class _LatePubackFilter(logging.Filter):
    """Drops amqtt's traceback for a subscriber's late PUBACK.

    A subscriber that acknowledges after committing (the workers) may take longer than
    amqtt's fixed 5 s on a busy machine; amqtt then logs one WARNING line ("Timeout waiting
    for PUBACK for packet ID …") and, again, an ERROR with the whole traceback from its
    broadcast loop. The line says it all; the traceback only alarms whoever runs ``dev``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        late = isinstance(error, TimeoutError) and "PUBACK" in str(error)
        return not (late or "Timeout waiting for PUBACK" in record.getMessage())


_LATE_PUBACK = _LatePubackFilter()


def _quiet_noisy_loggers() -> None:
    """Raise the embedded services' loggers to WARNING (see ``_NOISY_LOGGERS``), and keep
    amqtt's broker from repeating a late PUBACK with a traceback (``_LatePubackFilter``).

    Only those nobody set a level on: whoever asked for amqtt's DEBUG keeps it.
    """
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    broker = logging.getLogger("amqtt.broker")
    if _LATE_PUBACK not in broker.filters:
        broker.addFilter(_LATE_PUBACK)


class EmbeddedPostgres:
    """A PostgreSQL server of our own in ``data_dir``, for a machine that runs none.

    The data directory is created (with ``initdb``) on the first start and kept: a later
    start in the same directory finds the databases as they were. ``stop()`` stops the
    server unless another process still uses the same directory (pgserver counts them).
    """

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._server: Any = None
        self._url: str | None = None

    @property
    def data_dir(self) -> Path:
        """Where the server keeps its data, log (``log``) and socket."""
        return self._data_dir

    @property
    def url(self) -> str:
        """The libpq URL of database ``postgres`` as superuser ``postgres``; after ``start()``."""
        if self._url is None:
            msg = "the embedded PostgreSQL is not started"
            raise EmbeddedServiceError(msg)
        return self._url

    def start(self) -> str:
        """Start the server (or join the one already running on ``data_dir``); return its URL.

        Takes about a second when the data directory is new (initdb), less after.
        """
        if self._url is not None:
            return self._url
        _quiet_noisy_loggers()
        # pgserver reads a runtime directory when it is imported and platformdirs warns where
        # XDG_RUNTIME_DIR is unset (root, CI, containers); its fallback is fine.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            pgserver = _import_extra("pgserver")

        data_dir = self._data_dir.expanduser().resolve()
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(data_dir)
        try:
            server = _started_server(pgserver, data_dir)
            info = server.get_postmaster_info()
        except Exception as error:
            msg = (
                f"the embedded PostgreSQL did not start in {data_dir}: {error!r} "
                f"(its log: {data_dir / 'log'})"
            )
            raise EmbeddedServiceError(msg) from error
        self._server = server
        self._url = _socket_url(Path(info.socket_dir), int(info.port))
        return self._url

    def stop(self) -> None:
        """Stop the server if this process is the last one using it; idempotent."""
        server, self._server, self._url = self._server, None, None
        if server is not None:
            _forget_dead_handles(Path(server.pgdata))
            server.cleanup()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _started_server(pgserver: ModuleType, data_dir: Path) -> Any:
    """pgserver's handle on the server of ``data_dir``, started if it was not running.

    When ``pg_ctl start`` outlives pgserver's 10 s, the server it launched goes on starting:
    wait until it is ready (within ``_POSTGRES_START_SECONDS``), then take it as a later start
    would take a running one.
    """
    try:
        return pgserver.get_server(data_dir, cleanup_mode="stop")
    except subprocess.TimeoutExpired:
        log.warning("PostgreSQL is slow to start in %s; waiting for it", data_dir)
    # pg_ctl -w ends at once when the server dies: a timeout means it was alive then.
    deadline = time.monotonic() + _POSTGRES_START_SECONDS
    while not _postgres_ready(data_dir):
        if time.monotonic() > deadline:
            msg = f"not ready after {_POSTGRES_START_SECONDS:.0f} s"
            raise EmbeddedServiceError(msg)
        time.sleep(0.2)
    # get_server() would hand back the handle whose start failed; a new one finds the server
    # running, registers this process as one of its users and takes its place.
    return pgserver.PostgresServer(data_dir, cleanup_mode="stop")


def _postgres_ready(data_dir: Path) -> bool:
    """Whether the server of ``data_dir`` runs and accepts connections (``postmaster.pid``
    says ``ready``)."""
    postmaster = importlib.import_module("pgserver.utils").PostmasterInfo
    try:
        info = postmaster.read_from_pgdata(data_dir)
        return bool(info is not None and info.is_running() and info.status == "ready")
    # postmaster.pid is being written (pgserver asserts it has every line).
    except (OSError, LookupError, ValueError, AssertionError):
        return False


def _socket_url(socket_dir: Path, port: int) -> str:
    """The URL of database ``postgres`` through the server's Unix socket.

    The port is spelled out because it names the socket file (``.s.PGSQL.<port>``) and libpq
    would otherwise take it from ``PGPORT``; the directory is quoted for spaces and ``&``.
    """
    return f"postgresql://postgres@/postgres?host={quote(str(socket_dir), safe='/')}&port={port}"


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without letting go from pgserver's list of the server's users.

    pgserver stops a server only when the last process using it lets go, and counts them in
    ``.handle_pids.json``. A process killed without running its exit hooks (SIGKILL, a closed
    terminal) stays listed for ever, and then no later ``stop()`` would stop the server.
    """
    handles = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _process_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedBroker:
    """An MQTT broker (amqtt) in the running event loop, for a machine that runs none.

    Clients connect with MQTT 3.1.1 and are let in without credentials; the module's
    docstring lists what the broker does and does not support. ``port=0`` picks a free port,
    then found in ``port``. It serves only while its event loop runs: code that blocks that
    loop or runs in another one wants ``BackgroundBroker``.
    """

    def __init__(self, host: str = DEFAULT_MQTT_HOST, port: int = DEFAULT_MQTT_PORT) -> None:
        self._host = host
        self._port = port
        self._broker: Any = None

    @property
    def host(self) -> str:
        """The address the broker listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port the broker listens on (the one picked, once started with ``port=0``)."""
        return self._port

    @property
    def url(self) -> str:
        """``mqtt://host:port``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"mqtt://{host}:{self._port}"

    async def start(self) -> None:
        """Listen on ``host``:``port``; raise ``EmbeddedServiceError`` if the port is taken."""
        if self._broker is not None:
            return
        _quiet_noisy_loggers()
        if self._port != 0:
            self._broker = await self._start_on(self._port)
            return
        for attempt in range(_FREE_PORT_ATTEMPTS):
            port = free_port(self._host)
            try:
                self._broker = await self._start_on(port)
            except EmbeddedServiceError:
                if attempt == _FREE_PORT_ATTEMPTS - 1:
                    raise
                continue
            self._port = port
            return

    async def _start_on(self, port: int) -> Any:
        broker_module = _import_extra("amqtt.broker")
        broker_error: type[Exception] = _import_extra("amqtt.errors").BrokerError
        taken = EmbeddedServiceError(
            f"port {port} on {self._host} is already in use: another MQTT broker may be running "
            "there (use it instead, or choose another port)"
        )
        try:
            if port_in_use(self._host, port):
                raise taken
        except OSError as error:
            msg = f"cannot listen on {self._host}:{port}: {error}"
            raise EmbeddedServiceError(msg) from error

        broker = broker_module.Broker(self._config(port))
        try:
            await broker.start()
        except broker_error as error:
            # The port check above can lose a race with another process.
            cause = error.__cause__
            if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
                raise taken from error
            msg = f"the embedded MQTT broker did not start on {self._host}:{port}: {error}"
            raise EmbeddedServiceError(msg) from error
        return broker

    def _config(self, port: int) -> dict[str, Any]:
        bind_host = f"[{self._host}]" if ":" in self._host else self._host
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{bind_host}:{port}"}},
            # Only our auth plugin: no $SYS publisher, no packet and event loggers.
            "plugins": {_auth_plugin_path(): {}},
        }

    async def stop(self) -> None:
        """Disconnect every client and stop listening; idempotent."""
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def _auth_plugin_path() -> str:
    """Define the broker's auth plugin on first use; return the dotted path amqtt loads it by.

    It lets every client in without marking it anonymous: amqtt's own ``AnonymousAuthPlugin``
    marks everyone anonymous and amqtt then keeps no persistent session for them. The class
    is built here, not at module level, because amqtt is an optional extra.
    """
    if _AUTH_PLUGIN_NAME not in globals():
        base = _import_extra("amqtt.plugins.base").BaseAuthPlugin

        async def authenticate(plugin: object, *, session: Any) -> bool:
            return True

        globals()[_AUTH_PLUGIN_NAME] = type(
            _AUTH_PLUGIN_NAME,
            (base,),
            {"authenticate": authenticate, "__module__": __name__},
        )
    return f"{__name__}.{_AUTH_PLUGIN_NAME}"


class BackgroundBroker:
    """An ``EmbeddedBroker`` served by a thread with an event loop of its own.

    A broker in the caller's event loop answers only while that loop runs; tests block in
    synchronous code (a subprocess, a CLI run) and run other event loops, so the test suite
    keeps its broker where nothing can stall it.
    """

    _TIMEOUT_SECONDS = 30.0

    def __init__(self, host: str = DEFAULT_MQTT_HOST, port: int = DEFAULT_MQTT_PORT) -> None:
        self._broker = EmbeddedBroker(host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """The address the broker listens on."""
        return self._broker.host

    @property
    def port(self) -> int:
        """The port the broker listens on."""
        return self._broker.port

    @property
    def url(self) -> str:
        """``mqtt://host:port``."""
        return self._broker.url

    def start(self) -> None:
        """Start the thread and the broker in it; raise ``EmbeddedServiceError`` as it does."""
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="embedded-mqtt-broker", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self._broker.start(), loop).result(
                self._TIMEOUT_SECONDS
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the broker, then its loop and thread; idempotent."""
        loop, thread = self._loop, self._thread
        self._loop, self._thread = None, None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(_stop_and_cancel_rest(self._broker), loop).result(
                self._TIMEOUT_SECONDS
            )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(self._TIMEOUT_SECONDS)
            if not thread.is_alive():
                loop.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


async def _stop_and_cancel_rest(broker: EmbeddedBroker) -> None:
    """Stop the broker, then cancel what amqtt left running so the loop closes clean."""
    await broker.stop()
    rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*rest, return_exceptions=True)

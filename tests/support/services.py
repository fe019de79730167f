"""Private services that a test may stop, restart and cut: a Mosquitto, a PostgreSQL and a TCP
proxy of its own.

The machine's shared PostgreSQL and Mosquitto serve every other test run (and other people):
a chaos test never restarts those. It starts its own on free loopback ports, in a temporary
directory, and ends them. ``mosquitto_binary()`` and ``postgres_bindir()`` are None where the
binaries are not installed (the embedded-mode run), and such tests skip.
"""

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

import psycopg

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def answers(port: int, host: str = LOOPBACK) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def wait_until_answers(port: int, seconds: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(port):
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"nothing answers on {LOOPBACK}:{port} after {seconds} s\n{tail}")


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")


MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {data}/
persistence_file mosquitto.db
autosave_interval 30
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
persistent_client_expiration 1d
sys_interval 0
log_dest stderr
log_type error
log_type warning
"""


class PrivateMosquitto:
    """A Mosquitto 2 of our own: persistent sessions and queued messages survive ``restart``
    (a graceful stop, which saves its database, then a start on the same port)."""

    def __init__(self, binary: str) -> None:
        # Under the system's temporary directory, opened to Mosquitto's own user (it drops
        # to it when started as root): pytest's directories are closed to others.
        workdir = Path(tempfile.mkdtemp(prefix="securityvision-chaos-mqtt-"))
        workdir.chmod(0o755)
        self.workdir = workdir
        self.binary = binary
        self.port = free_port()
        self.log = workdir / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        data = workdir / "mosquitto"
        data.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(MOSQUITTO_CONF.format(port=self.port, data=data))
        if os.geteuid() == 0:
            # Run as root, Mosquitto drops to its own user and must still write its database.
            with contextlib.suppress(KeyError):
                user = pwd.getpwnam("mosquitto")
                os.chown(data, user.pw_uid, user.pw_gid)

    @property
    def url(self) -> str:
        return f"mqtt://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._log_file = self.log.open("ab")
        self._process = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        wait_until_answers(self.port, 15, self.log)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


def postgres_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: Debian's newest, else one on PATH."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    return None


class PrivatePostgres:
    """A PostgreSQL server of our own (``initdb`` + ``pg_ctl``) on a free loopback port.

    Run as root, the server runs as the ``postgres`` system user (PostgreSQL refuses root),
    in a directory under the system's temporary directory that that user can reach.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="securityvision-chaos-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._user = "postgres"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self._user,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
            cwd=self.root,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stderr.decode()[-2000:]}"
            )

    def initialize(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={LOOPBACK} -k {self.root}"
            " -c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        wait_until_answers(self.port, 15, self.log)

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/{name}"


class TcpProxy:
    """Forwards loopback connections to ``target_port``; ``cut()`` drops every connection and
    refuses new ones (the port stops listening) until ``restore()``."""

    def __init__(self, target_port: int, target_host: str = LOOPBACK) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = free_port()
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, LOOPBACK, self.port, reuse_address=True
        )

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers |= {writer, upstream_writer}
        pipes = [
            asyncio.create_task(self._pipe(reader, upstream_writer)),
            asyncio.create_task(self._pipe(upstream_reader, writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for end in (writer, upstream_writer):
                self._writers.discard(end)
                end.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            transport = writer.transport
            transport.abort()
        for pipe in list(self._pipes):
            pipe.cancel()
        if server is not None:
            await server.wait_closed()

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.cut()

"""The command line as people meet it: every command explains itself with an example, every
command's errors are one line (``--debug`` shows the underlying error instead), and what a
command prints as a result it can print as JSON for scripts."""

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner, Result

from securityvision.adapters.embedded import free_port
from securityvision.config import ConfigError
from securityvision.domain.errors import StorageError
from securityvision.entrypoints import cli
from securityvision.entrypoints.cli import main
from tests.conftest import MqttAddress
from tests.support.databases import temporary_database

NOWHERE_DB = "postgresql://nobody:not-printed@127.0.0.1:9/none"
PASSWORD = "a long enough password"
JSON_STDIN = ("--password-stdin", "--json")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # A .env in the developer's checkout must not leak into these runs.
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# --- help ---------------------------------------------------------------------------------


def test_the_command_and_every_subcommand_say_what_they_do_with_an_example(
    runner: CliRunner,
) -> None:
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    assert "securityvision doctor" in top.output
    assert {"dev", "serve", "worker", "simulate", "rollup", "migrate", "create-user", "doctor"} <= (
        set(main.commands)
    )
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example:" in result.output, name
        assert f"securityvision {name}" in result.output, name
        assert command.help, name


# --- errors -------------------------------------------------------------------------------

# For each command: arguments, environment, the start of its one error line, and the error
# that --debug lets through.
ERRORS: dict[str, tuple[list[str], dict[str, str], str, type[BaseException]]] = {
    "serve": (["serve"], {"RTLS_DB_PORT": "abc"}, "error: RTLS_DB_PORT:", ConfigError),
    "worker": (
        ["worker"],
        {"DATABASE_URL": NOWHERE_DB},
        "error: cannot connect to PostgreSQL",
        StorageError,
    ),
    "migrate": (
        ["migrate", "--json"],
        {"DATABASE_URL": NOWHERE_DB},
        "error: cannot connect to PostgreSQL",
        StorageError,
    ),
    "rollup": (
        ["rollup", "--json"],
        {"DATABASE_URL": NOWHERE_DB},
        "error: cannot connect to PostgreSQL",
        StorageError,
    ),
    "create-user": (
        ["create-user", "--email", "a@example.com"],
        {},
        "error: --password-stdin: no terminal",
        ConfigError,
    ),
}


@pytest.mark.parametrize("command", sorted(ERRORS))
def test_an_error_is_one_line_and_debug_lets_the_error_through(
    runner: CliRunner, command: str
) -> None:
    args, env, start, error = ERRORS[command]
    line = one_error_line(runner.invoke(main, args, env=env))
    assert line.startswith(start)
    assert "not-printed" not in line

    debugged = runner.invoke(main, ["--debug", *args], env=env)
    assert debugged.exit_code == 1
    assert isinstance(debugged.exception, error)


def test_dev_on_a_busy_port_is_one_line(runner: CliRunner, busy_port: int) -> None:
    result = runner.invoke(main, ["dev", "--port", str(busy_port)])
    assert one_error_line(result) == f"error: --port: 127.0.0.1:{busy_port} is already in use"
    debugged = runner.invoke(main, ["--debug", "dev", "--port", str(busy_port)])
    assert isinstance(debugged.exception, ConfigError)


def test_simulate_against_no_broker_is_one_line_and_debug_shows_why(runner: CliRunner) -> None:
    port = free_port()
    args = ["simulate", "--host", "127.0.0.1", "--port", str(port), "--duration", "1"]
    result = runner.invoke(main, args)
    assert one_error_line(result).startswith(f"error: broker 127.0.0.1:{port}")
    scripted = runner.invoke(main, [*args, "--json"])
    assert scripted.exit_code == 1
    assert scripted.stdout == ""
    debugged = runner.invoke(main, ["--debug", *args])
    assert isinstance(debugged.exception, ConnectionError)


def test_an_unexpected_error_is_one_line_naming_it_and_debug_raises_it(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("something nobody foresaw\nand its second line")

    monkeypatch.setattr(cli, "load_settings", broken)
    line = one_error_line(runner.invoke(main, ["migrate"]))
    assert line == (
        "error: unexpected RuntimeError: something nobody foresaw (--debug shows the traceback)"
    )
    debugged = runner.invoke(main, ["--debug", "migrate"])
    assert isinstance(debugged.exception, RuntimeError)


def test_a_usage_error_still_shows_the_usage(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rollup", "--retention-days", "-1"])
    assert result.exit_code == 2
    assert "Usage: " in result.output


# --- JSON ---------------------------------------------------------------------------------


@pytest.mark.postgres
def test_migrate_and_create_user_print_json_for_scripts(
    runner: CliRunner, postgres_server_url: str
) -> None:
    with temporary_database(postgres_server_url) as url:
        env = {"DATABASE_URL": url}
        before = runner.invoke(main, ["migrate", "--status", "--json"], env=env)
        assert before.exit_code == 0, before.output
        status = msgspec.json.decode(before.stdout)
        assert status["applied"] == []
        assert "0001_identity" in status["pending"]
        assert status["up_to_date"] is False

        applied = runner.invoke(main, ["migrate", "--json"], env=env)
        assert msgspec.json.decode(applied.stdout) == {
            "applied": status["pending"],
            "up_to_date": True,
        }
        again = runner.invoke(main, ["migrate", "--json"], env=env)
        assert msgspec.json.decode(again.stdout) == {"applied": [], "up_to_date": True}

        created = runner.invoke(
            main,
            ["create-user", "--email", "Bea@Example.com", "--role", "viewer", *JSON_STDIN],
            input=PASSWORD + "\n",
            env=env,
        )
        assert created.exit_code == 0, created.output
        user = msgspec.json.decode(created.stdout)
        assert (user["email"], user["role"], user["full_name"]) == (
            "bea@example.com",
            "VIEWER",
            None,
        )
        assert isinstance(user["id"], int)
        assert PASSWORD not in created.output

        rolled = runner.invoke(main, ["rollup", "--json", "--retention-days", "1"], env=env)
        assert rolled.exit_code == 0, rolled.output
        assert msgspec.json.decode(rolled.stdout) == []


@pytest.mark.postgres
def test_json_stays_alone_on_stdout_when_a_command_first_migrates(
    runner: CliRunner, postgres_server_url: str
) -> None:
    with temporary_database(postgres_server_url) as url:
        args = ["create-user", "--email", "cy@example.com", *JSON_STDIN]
        created = runner.invoke(main, args, input=PASSWORD + "\n", env={"DATABASE_URL": url})
        assert created.exit_code == 0, created.output
        assert msgspec.json.decode(created.stdout)["email"] == "cy@example.com"
        assert "applied  0001_identity" in created.stderr


@pytest.mark.mqtt
def test_simulate_prints_its_summary_as_json_and_nothing_else_on_stdout(
    runner: CliRunner, mqtt_address: MqttAddress
) -> None:
    prefix = f"sv-test-{free_port()}/gateways"
    args = ["simulate", "--host", mqtt_address.host, "--port", str(mqtt_address.port)]
    args += ["--prefix", prefix, "--rate", "40", "--duration", "0.5", "--seed", "3", "--json"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = msgspec.json.decode(result.stdout)
    assert (summary["readings"], summary["seed"]) == (20, 3)
    assert summary["messages"] >= summary["heartbeats"] > 0
    assert result.stderr.startswith("Publishing to ")

"""The command line: migrations, user creation, and errors as one clear line."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from securityvision.entrypoints.cli import main
from tests.support.databases import temporary_database

pytestmark = pytest.mark.postgres

PASSWORD = "a long enough password"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # A .env in the developer's checkout must not leak into these runs.
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def fresh_database(postgres_server_url: str) -> Iterator[str]:
    with temporary_database(postgres_server_url) as url:
        yield url


def test_migrate_status_lists_pending_steps_then_up_to_date(
    runner: CliRunner, fresh_database: str
) -> None:
    env = {"DATABASE_URL": fresh_database}
    before = runner.invoke(main, ["migrate", "--status"], env=env)
    assert before.exit_code == 0, before.output
    assert "pending  0001_identity" in before.output
    assert before.output.strip().endswith("pending")
    applied = runner.invoke(main, ["migrate"], env=env)
    assert applied.exit_code == 0, applied.output
    assert "applied  0001_identity" in applied.output
    again = runner.invoke(main, ["migrate"], env=env)
    assert again.output.strip() == "up to date"
    after = runner.invoke(main, ["migrate", "--status"], env=env)
    assert "applied  0001_identity" in after.output
    assert after.output.strip().endswith("up to date")


def test_create_user_takes_the_password_from_stdin_and_never_prints_it(
    runner: CliRunner, fresh_database: str
) -> None:
    env = {"DATABASE_URL": fresh_database}
    args = ["create-user", "--email", "Ana@Example.com", "--name", "Ana", "--role", "admin"]
    created = runner.invoke(main, [*args, "--password-stdin"], input=PASSWORD + "\n", env=env)
    assert created.exit_code == 0, created.output
    assert "ana@example.com (ADMIN)" in created.output
    assert PASSWORD not in created.output
    again = runner.invoke(main, [*args, "--password-stdin"], input=PASSWORD + "\n", env=env)
    assert again.exit_code == 1
    assert again.output.strip() == "error: a user with this email already exists"


def test_create_user_refuses_a_weak_password_in_one_line(
    runner: CliRunner, fresh_database: str
) -> None:
    result = runner.invoke(
        main,
        ["create-user", "--email", "a@example.com", "--password-stdin"],
        input="short\n",
        env={"DATABASE_URL": fresh_database},
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("error: password must have")
    assert "short" not in result.output.replace("password must have", "")


def test_a_malformed_variable_is_one_line_naming_it(runner: CliRunner) -> None:
    result = runner.invoke(main, ["migrate"], env={"RTLS_DB_PORT": "abc"})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: RTLS_DB_PORT:")
    assert "Traceback" not in result.output


def test_debug_shows_the_underlying_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--debug", "migrate"], env={"RTLS_DB_PORT": "abc"})
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "ConfigError"


def test_an_unreachable_database_is_one_line(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["migrate"], env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot connect to PostgreSQL")
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"SVPOS_SECRET_KEY": "change-me"},
        {"SVPOS_SECRET_KEY": "x" * 48, "ALLOW_ANONYMOUS_DEV_MODE": "true"},
    ],
    ids=["missing-secret", "weak-secret", "anonymous-mode"],
)
def test_serve_refuses_to_start_unsafely(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(main, ["serve"], env={"SVPOS_SECRET_KEY": "", **env})
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(("error: SVPOS_SECRET_KEY", "error: ALLOW_ANONYMOUS"))


def test_every_command_explains_itself_with_an_example(runner: CliRunner) -> None:
    for command in ["dev", "serve", "worker", "migrate", "create-user", "rollup", "simulate"]:
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output, command

"""``securityvision doctor`` against the real database and broker (and a Chatwoot stand-in):
all well says so with exit 0; each thing wrong is a failed check naming what to change, exit
1; no secret is ever printed."""

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from click.testing import CliRunner, Result

from securityvision.adapters.embedded import free_port
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.entrypoints.cli import main
from tests.conftest import MqttAddress
from tests.support.databases import temporary_database

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

SECRET_KEY = "doctor-secret-" + "k" * 40
DB_PASSWORD = "db-password-never-shown"
MQTT_PASSWORD = "mqtt-password-never-shown"
TOKEN = "chatwoot-token-never-shown"
# Generous: a loaded machine must not turn a healthy service into a failed check.
DOCTOR = ["doctor", "--timeout", "10"]
INBOXES = {"payload": [{"id": 7, "name": "Security", "inbox_identifier": "sv-inbox"}]}


class FakeChatwoot(BaseHTTPRequestHandler):
    """Account 1's inbox list, for the right token only."""

    def do_GET(self) -> None:
        if self.headers.get("api_access_token") != TOKEN:
            self._answer(401, {"error": "Invalid Access Token"})
        elif self.path == "/api/v1/accounts/1/inboxes":
            self._answer(200, INBOXES)
        else:
            self._answer(404, {"error": "not found"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def chatwoot_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChatwoot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env of a checkout
    return CliRunner()


@pytest.fixture(scope="module")
def migrated_url(postgres_server_url: str) -> Iterator[str]:
    with temporary_database(postgres_server_url) as url:
        asyncio.run(apply_migrations(url))
        yield url


@pytest.fixture
def healthy(migrated_url: str, mqtt_address: MqttAddress) -> dict[str, str]:
    """An environment where everything is in order."""
    return {
        "DATABASE_URL": migrated_url,
        "RTLS_MQTT_HOST": mqtt_address.host,
        "RTLS_MQTT_PORT": str(mqtt_address.port),
        "SVPOS_SECRET_KEY": SECRET_KEY,
        "DEVICE_SECRETS_KEY": "device-secrets-" + "d" * 40,
    }


def checks(result: Result) -> dict[str, dict[str, Any]]:
    report = msgspec.json.decode(result.stdout)
    assert report["ok"] is (result.exit_code == 0)
    return {check["name"]: check for check in report["checks"]}


def test_all_well_is_every_check_ok_and_exit_0(runner: CliRunner, healthy: dict[str, str]) -> None:
    result = runner.invoke(main, DOCTOR, env=healthy)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("Ready.")
    found = checks(runner.invoke(main, [*DOCTOR, "--json"], env=healthy))
    assert {name: c["status"] for name, c in found.items()} == {
        "configuration": "ok",
        "secret key": "ok",
        "device secrets": "ok",
        "database": "ok",
        "migrations": "ok",
        "mqtt broker": "ok",
        "chatwoot": "skip",
    }
    assert found["database"]["detail"].startswith("PostgreSQL ")
    assert (
        f"{healthy['RTLS_MQTT_HOST']}:{healthy['RTLS_MQTT_PORT']}"
        in (found["mqtt broker"]["detail"])
    )


def test_a_database_on_a_wrong_port_fails_and_says_which_variable_to_fix(
    runner: CliRunner, healthy: dict[str, str]
) -> None:
    wrong = f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:{free_port()}/securityvision"
    result = runner.invoke(main, [*DOCTOR, "--json"], env=healthy | {"DATABASE_URL": wrong})
    assert result.exit_code == 1
    found = checks(result)
    assert found["database"]["status"] == "fail"
    assert found["database"]["detail"].startswith("cannot connect to PostgreSQL at ")
    assert "set DATABASE_URL to a PostgreSQL that runs" in found["database"]["fix"]
    assert found["migrations"]["status"] == "skip"
    assert found["mqtt broker"]["status"] == "ok"
    assert DB_PASSWORD not in result.output

    human = runner.invoke(main, DOCTOR, env=healthy | {"DATABASE_URL": wrong})
    assert human.exit_code == 1
    assert "fix: set DATABASE_URL" in human.output
    assert human.output.strip().endswith(
        "1 problem(s) to fix; then run securityvision doctor again."
    )


def test_a_broker_on_a_wrong_port_fails_and_says_which_variables_to_fix(
    runner: CliRunner, healthy: dict[str, str]
) -> None:
    env = healthy | {"RTLS_MQTT_PORT": str(free_port()), "RTLS_MQTT_PASSWORD": MQTT_PASSWORD}
    result = runner.invoke(main, ["doctor", "--json", "--timeout", "2"], env=env)
    assert result.exit_code == 1
    broker = checks(result)["mqtt broker"]
    assert broker["status"] == "fail"
    assert "unreachable" in broker["detail"]
    assert broker["fix"].startswith("set RTLS_MQTT_HOST and RTLS_MQTT_PORT to a running broker")
    assert MQTT_PASSWORD not in result.output


def test_no_mqtt_feature_on_skips_the_broker(runner: CliRunner, healthy: dict[str, str]) -> None:
    env = healthy | {"RTLS_MQTT_ENABLED": "false", "CAMBUS_MQTT_ENABLED": "false"}
    result = runner.invoke(main, [*DOCTOR, "--json"], env=env | {"RTLS_MQTT_PORT": "9"})
    assert result.exit_code == 0
    assert checks(result)["mqtt broker"]["status"] == "skip"


def test_a_malformed_variable_fails_the_configuration_and_skips_the_rest(
    runner: CliRunner, healthy: dict[str, str]
) -> None:
    result = runner.invoke(main, [*DOCTOR, "--json"], env=healthy | {"RTLS_DB_PORT": "abc"})
    assert result.exit_code == 1
    found = checks(result)
    assert found["configuration"]["status"] == "fail"
    assert found["configuration"]["detail"].startswith("RTLS_DB_PORT: ")
    assert found["configuration"]["fix"].startswith("correct RTLS_DB_PORT")
    assert {c["status"] for name, c in found.items() if name != "configuration"} == {"skip"}


def test_a_weak_secret_key_fails_with_how_to_make_one(
    runner: CliRunner, healthy: dict[str, str]
) -> None:
    result = runner.invoke(main, [*DOCTOR, "--json"], env=healthy | {"SVPOS_SECRET_KEY": "abc"})
    assert result.exit_code == 1
    key = checks(result)["secret key"]
    assert key["status"] == "fail"
    assert key["detail"].startswith("SVPOS_SECRET_KEY:")
    assert "token_urlsafe" in key["fix"]


def test_pending_migrations_warn_while_serve_applies_them_and_fail_when_it_would_not(
    runner: CliRunner, healthy: dict[str, str], postgres_server_url: str
) -> None:
    with temporary_database(postgres_server_url) as empty:
        env = healthy | {"DATABASE_URL": empty}
        applied_at_start = runner.invoke(main, [*DOCTOR, "--json"], env=env)
        assert applied_at_start.exit_code == 0
        migrations = checks(applied_at_start)["migrations"]
        assert migrations["status"] == "warn"
        assert "0001_identity" in migrations["detail"]

        left_to_us = runner.invoke(main, [*DOCTOR, "--json"], env=env | {"RUN_MIGRATIONS": "0"})
        assert left_to_us.exit_code == 1
        migrations = checks(left_to_us)["migrations"]
        assert (migrations["status"], migrations["fix"]) == ("fail", "securityvision migrate")
        # Looking changed nothing: not even the bookkeeping table was created.
        with psycopg.connect(empty) as connection:
            row = connection.execute("SELECT to_regclass('schema_migrations')").fetchone()
        assert row == (None,)


def chatwoot_env(healthy: dict[str, str], url: str, **changes: str) -> dict[str, str]:
    return (
        healthy
        | {
            "CHATWOOT_ENABLED": "true",
            "CHATWOOT_BASE_URL": url,
            "CHATWOOT_API_ACCESS_TOKEN": TOKEN,
            "CHATWOOT_DEFAULT_ACCOUNT_ID": "1",
            "CHATWOOT_DEFAULT_INBOX_IDENTIFIER": "sv-inbox",
        }
        | changes
    )


def test_chatwoot_that_takes_our_token_and_knows_our_inbox_is_ok(
    runner: CliRunner, healthy: dict[str, str], chatwoot_url: str
) -> None:
    for inbox in ("sv-inbox", "7", "Security"):
        env = chatwoot_env(healthy, chatwoot_url, CHATWOOT_DEFAULT_INBOX_IDENTIFIER=inbox)
        result = runner.invoke(main, [*DOCTOR, "--json"], env=env)
        assert result.exit_code == 0, result.output
        chatwoot = checks(result)["chatwoot"]
        assert chatwoot["status"] == "ok"
        assert "inbox Security (7)" in chatwoot["detail"]
        assert TOKEN not in result.output


@pytest.mark.parametrize(
    "case",
    [
        (
            {"CHATWOOT_API_ACCESS_TOKEN": "wrong-" + TOKEN},
            "Chatwoot refused CHATWOOT_API_ACCESS_TOKEN (HTTP 401)",
            "set CHATWOOT_API_ACCESS_TOKEN",
        ),
        (
            {"CHATWOOT_DEFAULT_ACCOUNT_ID": "2"},
            "knows no account 2 (HTTP 404)",
            "check CHATWOOT_DEFAULT_ACCOUNT_ID",
        ),
        (
            {"CHATWOOT_DEFAULT_INBOX_IDENTIFIER": "nope"},
            "'nope' names no inbox of account 1 (its inboxes: Security (7))",
            "set CHATWOOT_DEFAULT_INBOX_IDENTIFIER",
        ),
        (
            {"CHATWOOT_BASE_URL": "http://127.0.0.1:9"},
            "cannot reach CHATWOOT_BASE_URL http://127.0.0.1:9",
            "check CHATWOOT_BASE_URL",
        ),
        (
            {"CHATWOOT_API_ACCESS_TOKEN": "", "CHATWOOT_DEFAULT_ACCOUNT_ID": ""},
            "CHATWOOT_API_ACCESS_TOKEN, CHATWOOT_DEFAULT_ACCOUNT_ID not set",
            "set CHATWOOT_API_ACCESS_TOKEN, CHATWOOT_DEFAULT_ACCOUNT_ID",
        ),
    ],
    ids=["wrong-token", "wrong-account", "wrong-inbox", "unreachable", "incomplete"],
)
def test_chatwoot_misconfigured_fails_and_says_what_to_change(
    runner: CliRunner,
    healthy: dict[str, str],
    chatwoot_url: str,
    case: tuple[dict[str, str], str, str],
) -> None:
    changes, detail, fix = case
    result = runner.invoke(
        main, [*DOCTOR, "--json"], env=chatwoot_env(healthy, chatwoot_url, **changes)
    )
    assert result.exit_code == 1
    chatwoot = checks(result)["chatwoot"]
    assert chatwoot["status"] == "fail"
    assert detail in chatwoot["detail"]
    assert chatwoot["fix"].startswith(fix)
    assert TOKEN not in result.output

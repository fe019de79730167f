"""``securityvision doctor``: is this installation able to run, and if not, what to change.

Each check reads the same settings the other commands read and talks to the same services
(the database, the MQTT broker, Chatwoot) with a short timeout; it changes nothing. A check
is ``ok``, ``warn`` (works, but look), ``fail`` (something will not work) or ``skip`` (not
configured, or behind a failed check); every ``warn`` and ``fail`` names the variable to
change in its ``fix``. Secrets are never printed.
"""

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import click
import msgspec

from securityvision.adapters.chatwoot_probe import ChatwootAnswer, probe_chatwoot
from securityvision.adapters.mqtt.probe import BrokerProbe
from securityvision.adapters.postgres.migrator import (
    SchemaInspection,
    describe_conninfo,
    inspect_schema,
)
from securityvision.config import ConfigError, Settings, check_serving_safety, load_settings
from securityvision.domain.errors import StorageError

__all__ = ["Check", "Diagnosis", "diagnose", "doctor"]

Status = Literal["ok", "warn", "fail", "skip"]

_KEY_FIX = (
    "set SVPOS_SECRET_KEY to 32 or more random characters, e.g. the output of "
    'python -c "import secrets; print(secrets.token_urlsafe(48))"'
)
_CHATWOOT_REQUIRED = (
    "chatwoot_base_url",
    "chatwoot_api_access_token",
    "chatwoot_default_account_id",
    "chatwoot_default_inbox_identifier",
)


class Check(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    status: Status
    detail: str
    fix: str | None = None


class Diagnosis(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    checks: list[Check]


def diagnose(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: str | Path | None = ".env",
    within: float = 3.0,
) -> Diagnosis:
    """Every check, in order; ``ok`` unless one failed. Runs an event loop of its own."""
    try:
        settings = load_settings(environ, env_file=env_file)
    except ConfigError as exc:
        failed = Check(
            name="configuration",
            status="fail",
            detail=str(exc),
            fix=f"correct {exc.variable} (docs/configuration.md gives the form of each variable)",
        )
        skipped = [
            Check(name=name, status="skip", detail="the configuration does not load")
            for name in ("database", "migrations", "mqtt broker", "chatwoot")
        ]
        return Diagnosis(ok=False, checks=[failed, *skipped])
    read_file = env_file is not None and Path(env_file).is_file()
    checks = [
        Check(
            name="configuration",
            status="ok",
            detail="every variable is well formed"
            + (f" (environment and {env_file})" if read_file else " (environment)"),
        ),
        _secret_key(settings),
        _device_secrets(settings),
    ]
    checks += asyncio.run(_services(settings, within))
    return Diagnosis(ok=all(c.status != "fail" for c in checks), checks=checks)


async def _services(settings: Settings, within: float) -> list[Check]:
    """The database, the broker and Chatwoot, asked at once."""
    database, broker, chatwoot = await asyncio.gather(
        _database(settings, within), _broker(settings, within), _chatwoot(settings, within)
    )
    return [*database, broker, chatwoot]


def _secret_key(settings: Settings) -> Check:
    try:
        check_serving_safety(settings)
    except ConfigError as exc:
        fix = (
            _KEY_FIX
            if exc.variable == "SVPOS_SECRET_KEY"
            else f"remove {exc.variable} or set it to false"
        )
        detail = str(exc).split(";")[0]
        return Check(name="secret key", status="fail", detail=detail, fix=fix)
    return Check(name="secret key", status="ok", detail="strong enough to serve the API")


def _device_secrets(settings: Settings) -> Check:
    if settings.device_secrets_key is None:
        return Check(
            name="device secrets",
            status="warn",
            detail="DEVICE_SECRETS_KEY is not set: camera passwords are refused",
            fix="set DEVICE_SECRETS_KEY to 32 or more random characters to store them",
        )
    return Check(name="device secrets", status="ok", detail="camera passwords can be stored")


async def _database(settings: Settings, within: float) -> list[Check]:
    conninfo = settings.database_conninfo()
    address = describe_conninfo(conninfo)
    try:
        schema = await inspect_schema(conninfo, within=within)
    except StorageError as exc:
        where = (
            "DATABASE_URL"
            if settings.database_url is not None
            else "DATABASE_URL, or RTLS_DB_HOST, RTLS_DB_PORT, RTLS_DB_NAME, RTLS_DB_USER and "
            "RTLS_DB_PASSWORD,"
        )
        return [
            Check(
                name="database",
                status="fail",
                detail=str(exc),
                fix=f"set {where} to a PostgreSQL that runs and accepts us (now {address})",
            ),
            Check(name="migrations", status="skip", detail="no database to look at"),
        ]
    version = schema.server_version.split()[0]
    return [
        Check(name="database", status="ok", detail=f"PostgreSQL {version} at {address}"),
        _migrations(settings, schema),
    ]


def _migrations(settings: Settings, schema: SchemaInspection) -> Check:
    if schema.unknown:
        versions = ", ".join(f"{v:04d}" for v in schema.unknown)
        return Check(
            name="migrations",
            status="warn",
            detail=f"the database has migrations this release does not know ({versions}): "
            "a newer SecurityVision migrated it",
            fix="run the release that migrated it (or a newer one)",
        )
    if not schema.pending:
        return Check(
            name="migrations", status="ok", detail=f"up to date ({len(schema.applied)} applied)"
        )
    pending = f"{len(schema.pending)} pending ({', '.join(schema.pending)})"
    if settings.run_migrations:
        return Check(
            name="migrations",
            status="warn",
            detail=f"{pending}: serve and worker apply them when they start (RUN_MIGRATIONS)",
            fix="or apply them now: securityvision migrate",
        )
    return Check(
        name="migrations",
        status="fail",
        detail=f"{pending}, and RUN_MIGRATIONS is off: serve and worker refuse to start",
        fix="securityvision migrate",
    )


async def _broker(settings: Settings, within: float) -> Check:
    users = []
    if settings.rtls_mqtt_enabled:
        users.append(f"RTLS gateways on {settings.rtls_mqtt_topic}")
    if settings.cambus_mqtt_enabled:
        users.append(f"cam-bus on {settings.cambus_mqtt_base_topic}/#")
    if not users:
        return Check(
            name="mqtt broker",
            status="skip",
            detail="RTLS_MQTT_ENABLED and CAMBUS_MQTT_ENABLED are off",
        )
    password = settings.rtls_mqtt_password
    probe = BrokerProbe(
        host=settings.mqtt_host,
        port=settings.rtls_mqtt_port,
        username=settings.rtls_mqtt_username,
        password=password.reveal() if password else None,
        tls=settings.rtls_mqtt_tls,
        timeout=within,
    )
    try:
        await probe.check()
    except ConnectionError as exc:
        reason = str(exc)
        if any(word in reason.lower() for word in ("authori", "password", "user name")):
            fix = "check RTLS_MQTT_USERNAME and RTLS_MQTT_PASSWORD (the broker refused them)"
        else:
            fix = (
                f"set RTLS_MQTT_HOST and RTLS_MQTT_PORT to a running broker (now "
                f"{probe.address}{'' if settings.rtls_mqtt_host else ', RTLS_MQTT_HOST unset'}); "
                "RTLS_MQTT_TLS if it speaks TLS"
            )
        return Check(name="mqtt broker", status="fail", detail=reason, fix=fix)
    return Check(
        name="mqtt broker",
        status="ok",
        detail=f"{probe.address} accepts us ({'; '.join(users)})",
    )


async def _chatwoot(settings: Settings, within: float) -> Check:
    if not settings.chatwoot_enabled:
        return Check(name="chatwoot", status="skip", detail="CHATWOOT_ENABLED is off")
    missing = [name.upper() for name in _CHATWOOT_REQUIRED if not getattr(settings, name)]
    base, account = settings.chatwoot_base_url, settings.chatwoot_default_account_id
    token, inbox = settings.chatwoot_api_access_token, settings.chatwoot_default_inbox_identifier
    if missing or not (base and account and token and inbox):
        names = ", ".join(missing)
        return Check(
            name="chatwoot",
            status="fail",
            detail=f"CHATWOOT_ENABLED is on but {names} not set: incidents are not mirrored",
            fix=f"set {names} (or CHATWOOT_ENABLED=false)",
        )
    try:
        answer = await probe_chatwoot(base, account, token.reveal(), within=max(within, 5.0))
    except ConnectionError as exc:
        return Check(
            name="chatwoot",
            status="fail",
            detail=f"cannot reach CHATWOOT_BASE_URL {base}: {exc}",
            fix="check CHATWOOT_BASE_URL, and that this host can reach it",
        )
    return _judged(answer, base=base, account=account, inbox=inbox)


def _judged(answer: ChatwootAnswer, *, base: str, account: int, inbox: str) -> Check:
    """What Chatwoot's answer to the inbox list says of the settings."""
    if answer.status in (401, 403):
        return Check(
            name="chatwoot",
            status="fail",
            detail=f"Chatwoot refused CHATWOOT_API_ACCESS_TOKEN (HTTP {answer.status})",
            fix="set CHATWOOT_API_ACCESS_TOKEN to the access token of an agent of account "
            f"{account} (Chatwoot: Profile settings, Access Token)",
        )
    if answer.status == 404:
        return Check(
            name="chatwoot",
            status="fail",
            detail=f"{base} knows no account {account} (HTTP 404)",
            fix="check CHATWOOT_DEFAULT_ACCOUNT_ID and CHATWOOT_BASE_URL",
        )
    if answer.status != 200:
        return Check(
            name="chatwoot",
            status="fail",
            detail=f"{base} answered HTTP {answer.status} to the inbox list",
            fix="check that CHATWOOT_BASE_URL is Chatwoot itself (not a proxy's error page)",
        )
    found = next((i for i in answer.inboxes if i.answers_to(inbox)), None)
    if found is None:
        names = ", ".join(f"{i.name} ({i.id})" for i in answer.inboxes) or "none"
        return Check(
            name="chatwoot",
            status="fail",
            detail=f"CHATWOOT_DEFAULT_INBOX_IDENTIFIER {inbox!r} names no inbox of account "
            f"{account} (its inboxes: {names})",
            fix="set CHATWOOT_DEFAULT_INBOX_IDENTIFIER to one of those inboxes' id or identifier",
        )
    return Check(
        name="chatwoot",
        status="ok",
        detail=f"{base} takes our token; account {account}, inbox {found.name} ({found.id})",
    )


# --- the command ----------------------------------------------------------------------------

_STYLE: dict[Status, tuple[str, str]] = {
    "ok": ("ok", "green"),
    "warn": ("warn", "yellow"),
    "fail": ("FAIL", "red"),
    "skip": ("skip", "bright_black"),
}


def report_lines(diagnosis: Diagnosis) -> list[str]:
    width = max(len(c.name) for c in diagnosis.checks)
    lines = []
    for check in diagnosis.checks:
        label, colour = _STYLE[check.status]
        mark = click.style(f"{label:<4}", fg=colour, bold=check.status == "fail")
        lines.append(f"{mark}  {check.name:<{width}}  {check.detail}")
        if check.fix:
            lines.append(f"      {'':<{width}}  fix: {check.fix}")
    failed = sum(c.status == "fail" for c in diagnosis.checks)
    warned = sum(c.status == "warn" for c in diagnosis.checks)
    if failed:
        lines.append(f"{failed} problem(s) to fix; then run securityvision doctor again.")
    else:
        lines.append("Ready" + (f" ({warned} warning(s) worth a look)." if warned else "."))
    return lines


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.option(
    "--timeout",
    default=3.0,
    show_default=True,
    type=click.FloatRange(0.5, 60),
    help="Seconds to wait for each service.",
)
def doctor(*, as_json: bool, timeout: float) -> None:
    """Check the configuration, the database and its migrations, the MQTT broker and
    Chatwoot, and say what to fix. Changes nothing; exits 1 when something is wrong.

    \b
    Example:  securityvision doctor
              securityvision doctor --json | jq '.checks[] | select(.status != "ok")'
    """
    diagnosis = diagnose(within=timeout)
    if as_json:
        click.echo(msgspec.json.encode(diagnosis).decode())
    else:
        for line in report_lines(diagnosis):
            click.echo(line)
    if not diagnosis.ok:
        raise click.exceptions.Exit(1)

"""Settings: the environment, an optional ``.env`` file and ``NAME_FILE`` files, checked once.

Nothing is read when this module is imported: an entrypoint calls :func:`load_settings`
and hands the resulting :class:`Settings` to the container. Every attribute of
:class:`Settings` is the name of its environment variable in lower case
(``RTLS_MQTT_PORT`` -> ``settings.rtls_mqtt_port``).

A malformed value stops the start with one line naming the variable (:class:`ConfigError`);
secrets are :class:`Secret` values that never print themselves. docs/configuration.md lists
every variable.
"""

import datetime
import hmac
import os
import re
import string
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from dotenv import dotenv_values

__all__ = [
    "ConfigError",
    "Secret",
    "Settings",
    "check_serving_safety",
    "load_settings",
    "secret_variable_names",
    "variable_names",
]

_MASK: Final = "**********"


class Secret:
    """A secret string: ``reveal()`` gives it; repr, str and f-strings never do."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        # Constant time; "surrogatepass" because os.environ may hold undecodable bytes.
        mine = self._value.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(mine, other._value.encode("utf-8", "surrogatepass"))

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class ConfigError(Exception):
    """A setting is missing, malformed or unsafe.

    The message is one line that starts with the name of the variable at fault
    (``RTLS_MQTT_PORT: expected an integer, got 'abc'``) and never holds a secret.
    """

    def __init__(self, message: str) -> None:
        # One line whatever the caller passed: the message ends up in a terminal or a log.
        super().__init__(" ".join(message.splitlines()))

    @property
    def variable(self) -> str:
        """The variable named at the start of the message."""
        return str(self).partition(":")[0]


class _InvalidValueError(ValueError):
    """Raised by a parser; the loader turns it into a ConfigError naming the variable."""

    def __init__(self, problem: str, *, show_value: bool = True) -> None:
        super().__init__(problem)
        self.problem = problem
        self.show_value = show_value


class _Parser:
    """Annotated marker: how the text of a variable becomes the value of its field."""

    __slots__ = ("parse",)

    def __init__(self, parse: Callable[[str], object]) -> None:
        self.parse = parse


# --- parsers of the fields whose text needs more than its type --------------------------


def _http_url(text: str) -> str:
    problem = "expected an http:// or https:// URL"
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host
        raise _InvalidValueError(problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in text:
        raise _InvalidValueError(problem)
    # Stored without a trailing slash so callers can append "/path" (the original crashed
    # calling rstrip on a URL object, ORIGINAL.md §9 bug 9).
    return text.rstrip("/")


def _device_secrets_key(text: str) -> "Secret":
    # It encrypts camera passwords at rest (adapters/secrets.py): a short key is guessable.
    if len(text) < 32:
        raise _InvalidValueError("expected at least 32 characters", show_value=False)
    return Secret(text)


def _origins(text: str) -> tuple[str, ...]:
    origins: list[str] = []
    for item in _items(text):
        if item != "*" and not _is_origin(item):
            raise _InvalidValueError(
                f"expected comma-separated origins such as https://app.example.com, "
                f"{item!r} is not one",
                show_value=False,
            )
        origins.append(item.rstrip("/"))
    return tuple(origins)


def _is_origin(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )


def _shard_hosts(text: str) -> tuple[tuple[str, str], ...]:
    pairs: dict[str, str] = {}
    for item in _items(text):
        shard, equals, host = (part.strip() for part in item.partition("="))
        if not equals or not shard or not host or re.search(r"\s", shard + host):
            raise _InvalidValueError(
                f"expected comma-separated shard=host items, {item!r} is not one",
                show_value=False,
            )
        if shard in pairs:
            raise _InvalidValueError(f"shard {shard!r} is listed twice", show_value=False)
        pairs[shard] = host
    return tuple(pairs.items())


def _url_template(text: str) -> str:
    # Viewer URLs of an uplinked stream: {host} and {path} are filled in, nothing else.
    fields = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    problem = "expected an http(s) URL template with {path} (and optionally {host})"
    if "{path}" not in text or not fields <= {"host", "path"}:
        raise _InvalidValueError(problem)
    _http_url(text.replace("{host}", "media.example.com").replace("{path}", "a/b"))
    return text


def _lowercase_hosts(text: str) -> tuple[str, ...]:
    return tuple(item.lower() for item in _items(text))


def _timezone(text: str) -> str:
    if text == "UTC":
        return text
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _InvalidValueError(
            "expected an IANA time zone such as UTC or America/Sao_Paulo"
        ) from None
    return text


_DATABASE_URL_SCHEME: Final = re.compile(r"^postgres(?:ql)?(?:\+[A-Za-z0-9_]+)?://")


def _database_url(text: str) -> Secret:
    if not _DATABASE_URL_SCHEME.match(text):
        raise _InvalidValueError("expected a postgresql:// URL")
    return Secret(text)


def _redis_url(text: str) -> Secret:
    # Only the scheme is checked: the rest is the client's to parse, and a password that
    # is not percent-encoded must not be rejected here with the URL quoted back.
    if not re.match(r"^(?:redis|rediss|unix)://", text):
        raise _InvalidValueError("expected a redis://, rediss:// or unix:// URL")
    return Secret(text)


def _email(text: str) -> str:
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or re.search(r"\s", text):
        raise _InvalidValueError("expected an e-mail address")
    return text


def _topic(text: str) -> str:
    topic = text.strip("/")
    if not topic or "+" in topic or "#" in topic:
        raise _InvalidValueError("expected an MQTT topic without wildcards")
    return topic


def _topic_filter(text: str) -> str:
    levels = text.split("/")
    for index, level in enumerate(levels):
        if ("#" in level and (level != "#" or index != len(levels) - 1)) or (
            "+" in level and level != "+"
        ):
            raise _InvalidValueError(
                "expected an MQTT topic filter ('+' a whole level, '#' the last one)"
            )
    return text


def _share_group(text: str) -> str:
    if re.search(r"[/+#\s]", text):
        raise _InvalidValueError("expected a group name without '/', '+', '#' or spaces")
    return text


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


_HttpUrl = Annotated[str, _Parser(_http_url)]
_Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
_PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
_Topic = Annotated[str, _Parser(_topic)]

_LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
_LogFormat = Literal["text", "json"]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the product; each attribute is its environment variable lowercased.

    Build it with :func:`load_settings` (or directly in tests: every field has a default).
    Fields typed :class:`Secret` are the secret variables.
    """

    # --- application and HTTP ---------------------------------------------------------
    app_name: str = "SecurityVision"
    public_base_url: _HttpUrl = "http://localhost:8000"
    frontend_base_url: Annotated[str | None, _Parser(_http_url)] = None
    cors_allow_origins: Annotated[tuple[str, ...], _Parser(_origins)] = (
        "http://localhost:5173",
        "http://127.0.0.1:5173",
    )
    log_level: _LogLevel = "INFO"
    log_format: _LogFormat = "text"
    redis_url: Annotated[Secret | None, _Parser(_redis_url)] = None
    # Accepted so the original's .env files still load; it changes nothing.
    testing: bool = False

    # --- database -------------------------------------------------------------------------
    database_url: Annotated[Secret | None, _Parser(_database_url)] = None
    rtls_db_host: str | None = None
    rtls_db_port: _Port = 5432
    rtls_db_user: str = "securityvision"
    rtls_db_password: Secret | None = None
    rtls_db_name: str = "securityvision"
    run_migrations: bool = True

    # --- authentication -------------------------------------------------------------------
    svpos_secret_key: Secret | None = None
    jwt_secret: Secret | None = None
    svpos_access_token_expire_minutes: _PositiveInt = 1440
    jwt_issuer: str = "security-vision"
    jwt_audience: str = "security-vision-clients"
    allow_anonymous_dev_mode: bool = False
    superadmin_email: Annotated[str | None, _Parser(_email)] = None
    superadmin_password: Secret | None = None
    superadmin_name: str = "System Admin"

    # --- RTLS over MQTT (the broker is shared by every MQTT feature) ------------------------
    rtls_mqtt_enabled: bool = True
    rtls_mqtt_host: str | None = None
    rtls_mqtt_port: _Port = 1883
    rtls_mqtt_username: str | None = None
    rtls_mqtt_password: Secret | None = None
    rtls_mqtt_tls: bool = False
    rtls_mqtt_protocol: Literal["auto", "5", "3.1.1"] = "auto"
    rtls_mqtt_client_id: str | None = None
    rtls_mqtt_topic: Annotated[str, _Parser(_topic_filter)] = "rtls/gateways/#"
    mqtt_shared_group: Annotated[str | None, _Parser(_share_group)] = None
    rtls_accept_unknown_tags: bool = False

    # --- presence and devices ---------------------------------------------------------------
    position_stale_threshold_seconds: _PositiveInt = 15
    presence_session_gap_seconds: _PositiveInt = 15
    presence_log_retention_days: _PositiveInt = 30
    presence_rollup_enabled: bool = False
    presence_rollup_interval_minutes: _PositiveInt = 60
    presence_totals_interval_seconds: _PositiveInt = 60
    presence_timezone: Annotated[str, _Parser(_timezone)] = "UTC"
    device_offline_threshold_seconds: _PositiveInt = 60

    # --- CAM-BUS ---------------------------------------------------------------------------
    cambus_mqtt_enabled: bool = True
    cambus_mqtt_base_topic: _Topic = "rtls/cameras"
    cambus_uplink_base_topic: _Topic = "security-vision/cameras"
    cambus_tenant: str = "default"
    cambus_default_shard: str = "shard-1"
    cambus_uplink_srt_port: _Port = 8890
    cambus_uplink_ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 300
    cambus_shard_hosts: Annotated[tuple[tuple[str, str], ...], _Parser(_shard_hosts)] = ()
    cambus_webrtc_url_template: Annotated[str, _Parser(_url_template)] = (
        "https://{host}/{path}/whep"
    )
    cambus_hls_url_template: Annotated[str, _Parser(_url_template)] = (
        "https://{host}/{path}/index.m3u8"
    )

    # --- incidents and media ----------------------------------------------------------------
    incident_cooldown_seconds: Annotated[int, msgspec.Meta(ge=0)] = 60
    media_root: str = "media"
    media_base_url: Annotated[str | None, _Parser(_http_url)] = None
    media_fetch_allowed_hosts: Annotated[tuple[str, ...], _Parser(_lowercase_hosts)] = ()
    media_max_bytes: _PositiveInt = 5_242_880
    device_secrets_key: Annotated[Secret | None, _Parser(_device_secrets_key)] = None

    # --- Chatwoot ---------------------------------------------------------------------------
    chatwoot_enabled: bool = False
    chatwoot_base_url: Annotated[str | None, _Parser(_http_url)] = None
    chatwoot_api_access_token: Secret | None = None
    chatwoot_default_account_id: Annotated[int | None, msgspec.Meta(ge=1)] = None
    chatwoot_default_inbox_identifier: str | None = None
    chatwoot_default_contact_identifier: str = "security-vision-system"
    chatwoot_incident_base_url: Annotated[str | None, _Parser(_http_url)] = None
    chatwoot_webhook_secret: Secret | None = None
    chatwoot_webhook_token: Secret | None = None

    # --- outbound webhooks (docs/alerts.md) ---------------------------------------------------
    webhooks_enabled: bool = True
    webhook_timeout_seconds: _PositiveInt = 10

    # --- access control ---------------------------------------------------------------------
    access_control_mqtt_enabled: bool = True
    access_control_mqtt_topic: _Topic = "security-vision/access-control/locations"
    access_control_mqtt_base_topic: _Topic = "security-vision/access-control"
    access_control_tenant: str = "default"

    # --- worker -----------------------------------------------------------------------------
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 9108

    # Set by `securityvision dev` through load_settings(dev=True); never read from the
    # environment, so no variable can turn a production process into a dev one.
    dev_mode: bool = False

    @property
    def mqtt_host(self) -> str:
        """The broker to connect to (``dev`` embeds one when RTLS_MQTT_HOST is unset)."""
        return self.rtls_mqtt_host or "localhost"

    @property
    def rtls_mqtt_topic_prefix(self) -> str:
        """RTLS_MQTT_TOPIC without its trailing ``/#``: the prefix gateway topics live under."""
        return self.rtls_mqtt_topic.removesuffix("#").rstrip("/")

    @property
    def database_configured(self) -> bool:
        """Whether a database was configured (``dev`` embeds PostgreSQL when not)."""
        return self.database_url is not None or self.rtls_db_host is not None

    def database_conninfo(self) -> str:
        """A libpq URL: DATABASE_URL when set, else one built from the RTLS_DB_* variables.

        The result holds the password: hand it to the driver, never to a log.
        """
        if self.database_url is not None:
            return _DATABASE_URL_SCHEME.sub("postgresql://", self.database_url.reveal(), count=1)
        host = self.rtls_db_host or "localhost"
        if host.startswith("/"):
            host = quote(host, safe="")  # a Unix-socket directory
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        credentials = quote(self.rtls_db_user, safe="")
        if self.rtls_db_password:
            credentials += ":" + quote(self.rtls_db_password.reveal(), safe="")
        database = quote(self.rtls_db_name, safe="")
        return f"postgresql://{credentials}@{host}:{self.rtls_db_port}/{database}"

    @property
    def jwt_key(self) -> Secret | None:
        """The key that signs tokens: SVPOS_SECRET_KEY, else its alias JWT_SECRET."""
        return self.svpos_secret_key or self.jwt_secret

    @property
    def presence_zone(self) -> datetime.tzinfo:
        """PRESENCE_TIMEZONE as a tzinfo (UTC needs no time-zone database)."""
        if self.presence_timezone == "UTC":
            return datetime.UTC
        return ZoneInfo(self.presence_timezone)

    @property
    def chatwoot_configured(self) -> bool:
        """Chatwoot is on and everything the Application API needs is set."""
        return bool(
            self.chatwoot_enabled
            and self.chatwoot_base_url
            and self.chatwoot_api_access_token
            and self.chatwoot_default_account_id
            and self.chatwoot_default_inbox_identifier
        )

    def cambus_shard_host(self, shard: str) -> str | None:
        """The media host of ``shard`` from CAMBUS_SHARD_HOSTS, if listed."""
        return dict(self.cambus_shard_hosts).get(shard)

    def redacted(self) -> dict[str, object]:
        """Every setting by attribute name, secrets masked: safe to print and to log."""
        shown: dict[str, object] = {}
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, Secret):
                value = _MASK
            elif name == "cambus_shard_hosts":
                value = dict(value)
            shown[name] = value
        return shown


# Fields that no environment variable sets.
_NOT_FROM_ENVIRONMENT: Final = frozenset({"dev_mode"})


def variable_names() -> tuple[str, ...]:
    """The environment variables :func:`load_settings` reads (each also as ``NAME_FILE``)."""
    return tuple(
        field.name.upper()
        for field in msgspec.structs.fields(Settings)
        if field.name not in _NOT_FROM_ENVIRONMENT
    )


def secret_variable_names() -> tuple[str, ...]:
    """The variables whose values are secrets: never logged, never shown."""
    return tuple(
        field.name.upper()
        for field in msgspec.structs.fields(Settings)
        if _unwrap(field.type)[0] is Secret
    )


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: str | Path | None = ".env",
    dev: bool = False,
) -> Settings:
    """Read and check every setting; raise :class:`ConfigError` on the first bad one.

    - ``environ`` defaults to the process environment; ``env_file`` (when the file exists)
      supplies variables the environment does not set, the environment winning name by name.
    - Every variable ``X`` may instead be given as ``X_FILE``, the path of a file holding
      the value (one trailing newline dropped); setting both is an error.
    - An empty value means unset; variables this product does not know are ignored.
    - ``dev=True`` is the ``securityvision dev`` command: it only sets ``dev_mode``.
    """
    process = _by_upper_name(os.environ if environ is None else environ)
    from_file = _by_upper_name(_read_env_file(Path(env_file))) if env_file is not None else {}
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(Settings):
        if field.name in _NOT_FROM_ENVIRONMENT:
            continue
        name = field.name.upper()
        found = _lookup(name, process) or _lookup(name, from_file)
        if found is None:
            continue
        source, text = found
        if text.strip():
            values[field.name] = _parse(field.type, source, text)
    return Settings(**values, dev_mode=dev)


_WEAK_KEY_MESSAGE: Final = (
    "SVPOS_SECRET_KEY: missing or too weak outside dev mode; set at least 32 random "
    'characters (e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
)
_MIN_KEY_LENGTH: Final = 32
# Compared with the key lowercased and stripped of everything but letters and digits.
_PLACEHOLDER_KEYS: Final = frozenset(
    {
        "changeme",
        "changemeinproduction",
        "changemesupersecret",
        "secret",
        "secretkey",
        "supersecret",
        "supersecretkey",
        "jwtsecret",
        "yoursecretkey",
        "mysecretkey",
        "replacewith48randomcharacters",
    }
)
_PLACEHOLDER_FRAGMENTS: Final = ("changeme", "replacewith", "yoursecret", "placeholder", "insecure")
_MIN_DISTINCT_CHARACTERS: Final = 8


def check_serving_safety(settings: Settings) -> None:
    """Refuse to serve requests with settings only fit for ``dev``.

    - Outside dev mode the JWT key must be set and strong: 32 characters or more, not a
      well-known placeholder (the original shipped one and only warned about it).
    - ALLOW_ANONYMOUS_DEV_MODE is refused outside dev mode: anonymous access does not exist.
    - In dev mode both pass: ``dev`` generates a key itself, and stays authenticated.
    """
    if settings.dev_mode:
        return
    key = settings.jwt_key
    if key is None or _is_weak_key(key.reveal()):
        raise ConfigError(_WEAK_KEY_MESSAGE)
    if settings.allow_anonymous_dev_mode:
        raise ConfigError(
            "ALLOW_ANONYMOUS_DEV_MODE: anonymous access does not exist; remove the variable "
            "or set it to false (every request needs a token)"
        )


def _is_weak_key(key: str) -> bool:
    folded = re.sub(r"[^a-z0-9]", "", key.lower())
    return (
        len(key) < _MIN_KEY_LENGTH
        or len(set(key)) < _MIN_DISTINCT_CHARACTERS
        or folded in _PLACEHOLDER_KEYS
        or any(fragment in folded for fragment in _PLACEHOLDER_FRAGMENTS)
    )


# --- loading ----------------------------------------------------------------------------


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        raw = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeError):
        raise ConfigError(f"{path}: cannot read this env file") from None
    # A line with a name and no "=" gives None: the variable is not set.
    return {name: value for name, value in raw.items() if value is not None}


def _by_upper_name(variables: Mapping[str, str]) -> dict[str, str]:
    # The original (pydantic-settings) matched names case-insensitively and its .env files
    # used lower-case names such as rtls_db_host; the upper-case spelling wins a tie.
    folded: dict[str, str] = {}
    for name, value in variables.items():
        upper = name.upper()
        if name == upper or upper not in folded:
            folded[upper] = value
    return folded


def _lookup(name: str, variables: Mapping[str, str]) -> tuple[str, str] | None:
    """The variable actually set for ``name`` in ``variables`` and its text, if any."""
    file_name = f"{name}_FILE"
    direct = variables.get(name, "")
    path = variables.get(file_name, "").strip()
    if direct.strip() and path:
        raise ConfigError(f"{name}: set either {name} or {file_name}, not both")
    if path:
        return file_name, _read_value_file(file_name, path)
    if direct.strip():
        return name, direct
    return None


def _read_value_file(file_name: str, path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeError:
        raise ConfigError(f"{file_name}: {path!r} is not UTF-8 text") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"{file_name}: cannot read {path!r} ({reason})") from None
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def _parse(annotation: Any, source: str, text: str) -> object:
    base, extras = _unwrap(annotation)
    is_secret = base is Secret
    value = text if is_secret else text.strip()
    try:
        return _convert(base, extras, value)
    except _InvalidValueError as invalid:
        if not invalid.show_value:
            raise ConfigError(f"{source}: {invalid.problem}") from None
        shown = "an invalid value" if is_secret else _quoted(value)
        raise ConfigError(f"{source}: {invalid.problem}, got {shown}") from None
    except ValueError:
        # A parser let a library's error through: still one line, and no value in a traceback.
        shown = "an invalid value" if is_secret else _quoted(value)
        raise ConfigError(f"{source}: cannot read the value, got {shown}") from None


def _unwrap(annotation: Any) -> tuple[Any, list[object]]:
    """The type a field holds when set, and the markers annotating it."""
    extras: list[object] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation, *more = typing.get_args(annotation)
            extras.extend(more)
        elif origin in (typing.Union, types.UnionType):
            (annotation,) = (arg for arg in typing.get_args(annotation) if arg is not type(None))
        else:
            return annotation, extras


_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


def _convert(base: Any, extras: list[object], text: str) -> object:
    for extra in extras:
        if isinstance(extra, _Parser):
            return extra.parse(text)
    if base is int:
        return _integer(text, extras)
    if typing.get_origin(base) is Literal:
        return _choice(text, typing.get_args(base))
    if typing.get_origin(base) is tuple:
        return tuple(_items(text))
    simple: dict[Any, Callable[[str], object]] = {str: str, Secret: Secret, bool: _boolean}
    if base not in simple:
        message = f"no parser for {base!r}"
        raise TypeError(message)
    return simple[base](text)


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered not in _TRUE | _FALSE:
        raise _InvalidValueError("expected true or false (also 1/0, yes/no, on/off)")
    return lowered in _TRUE


def _choice(text: str, options: tuple[str, ...]) -> str:
    for option in options:
        if option.lower() == text.lower():
            return option
    raise _InvalidValueError(f"expected one of {', '.join(options)}")


def _integer(text: str, extras: list[object]) -> int:
    low: int | None = None
    high: int | None = None
    for extra in extras:
        if isinstance(extra, msgspec.Meta):
            low = None if extra.ge is None else int(extra.ge)
            high = None if extra.le is None else int(extra.le)
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
        raise _InvalidValueError("expected an integer")
    number = int(text)
    if high is not None and low is not None and not low <= number <= high:
        raise _InvalidValueError(f"expected an integer from {low} to {high}")
    if low is not None and number < low:
        raise _InvalidValueError(
            "expected a positive integer" if low == 1 else f"expected an integer >= {low}"
        )
    return number


_SHOWN_LENGTH: Final = 60


def _quoted(text: str) -> str:
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 3] + "..."
    return repr(text)

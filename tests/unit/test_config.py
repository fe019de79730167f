import re
from pathlib import Path

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from securityvision.config import (
    ConfigError,
    Secret,
    Settings,
    check_serving_safety,
    load_settings,
    secret_variable_names,
    variable_names,
)

REPOSITORY = Path(__file__).resolve().parents[2]
STRONG_KEY = "kV3q9ZtR7wLp2XyB8nHc4MdF6sGj1QaE5uYi0oTr"
WEAK_KEY_MESSAGE = (
    "SVPOS_SECRET_KEY: missing or too weak outside dev mode; set at least 32 random "
    'characters (e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
)


def load(environ: dict[str, str], *, env_file: Path | None = None, dev: bool = False) -> Settings:
    """load_settings without the working directory's .env, unless a test passes one."""
    return load_settings(environ, env_file=env_file, dev=dev)


def config_error(environ: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(environ)
    return caught.value


# --- defaults and names ------------------------------------------------------------------


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = load({})

    assert settings == Settings()
    assert settings.rtls_mqtt_host is None
    assert settings.mqtt_host == "localhost"
    assert settings.rtls_mqtt_port == 1883
    assert settings.rtls_mqtt_topic == "rtls/gateways/#"
    assert settings.rtls_mqtt_topic_prefix == "rtls/gateways"
    assert settings.cambus_mqtt_base_topic == "rtls/cameras"
    assert settings.cambus_uplink_base_topic == "security-vision/cameras"
    assert settings.cambus_shard_hosts == ()
    assert settings.cors_allow_origins == ("http://localhost:5173", "http://127.0.0.1:5173")
    assert settings.public_base_url == "http://localhost:8000"
    assert settings.media_root == "media"
    assert settings.media_max_bytes == 5_242_880
    assert settings.svpos_access_token_expire_minutes == 1440
    assert settings.jwt_key is None
    assert settings.allow_anonymous_dev_mode is False
    assert settings.run_migrations is True
    assert settings.presence_timezone == "UTC"
    assert settings.incident_cooldown_seconds == 60
    assert (settings.worker_metrics_host, settings.worker_metrics_port) == ("127.0.0.1", 9108)
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    assert settings.database_configured is False
    assert settings.dev_mode is False


def test_every_attribute_is_its_variable_name_lowercased() -> None:
    settings = load({"RTLS_MQTT_PORT": "1884", "CAMBUS_MQTT_BASE_TOPIC": "site/cameras"})

    assert settings.rtls_mqtt_port == 1884
    assert settings.cambus_mqtt_base_topic == "site/cameras"
    assert all(hasattr(settings, name.lower()) for name in variable_names())


def test_every_secret_variable_is_a_secret_field() -> None:
    assert set(secret_variable_names()) >= {
        "SVPOS_SECRET_KEY",
        "JWT_SECRET",
        "DATABASE_URL",
        "RTLS_DB_PASSWORD",
        "RTLS_MQTT_PASSWORD",
        "SUPERADMIN_PASSWORD",
        "CHATWOOT_API_ACCESS_TOKEN",
        "CHATWOOT_WEBHOOK_SECRET",
        "CHATWOOT_WEBHOOK_TOKEN",
        "DEVICE_SECRETS_KEY",
        "REDIS_URL",
    }


def test_variables_the_product_does_not_know_are_ignored() -> None:
    assert load({"PATH": "/usr/bin", "HOME": "/root", "SOMETHING_ELSE": "x"}) == Settings()


def test_dev_mode_comes_from_the_dev_command_not_from_the_environment() -> None:
    assert load({"DEV_MODE": "true"}).dev_mode is False
    assert load({}, dev=True).dev_mode is True


def test_the_process_environment_is_read_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RTLS_MQTT_HOST", "broker.internal")

    assert load_settings().rtls_mqtt_host == "broker.internal"


# --- database ----------------------------------------------------------------------------


def test_database_url_wins_over_the_rtls_db_variables() -> None:
    settings = load(
        {
            "DATABASE_URL": "postgresql://app:pw@db.internal:6543/prod",
            "RTLS_DB_HOST": "other",
            "RTLS_DB_PASSWORD": "ignored",
        }
    )

    assert settings.database_conninfo() == "postgresql://app:pw@db.internal:6543/prod"
    assert settings.database_configured is True


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://app:pw@db/sv",
        "postgres+asyncpg://app:pw@db/sv",
        "postgresql+psycopg://app:pw@db/sv",
    ],
)
def test_a_sqlalchemy_driver_suffix_is_rewritten_to_plain_postgresql(url: str) -> None:
    assert load({"DATABASE_URL": url}).database_conninfo() == "postgresql://app:pw@db/sv"


def test_the_rtls_db_variables_build_a_url_with_the_password_quoted() -> None:
    settings = load(
        {
            "RTLS_DB_HOST": "db.internal",
            "RTLS_DB_PORT": "6543",
            "RTLS_DB_USER": "rtls",
            "RTLS_DB_PASSWORD": "p@ss/w:rd",
            "RTLS_DB_NAME": "rtls_db",
        }
    )

    expected = "postgresql://rtls:p%40ss%2Fw%3Ard@db.internal:6543/rtls_db"
    assert settings.database_conninfo() == expected
    assert settings.database_configured is True


def test_the_database_host_defaults_to_localhost_when_only_other_parts_are_set() -> None:
    settings = load({"RTLS_DB_PASSWORD": "pw"})

    expected = "postgresql://securityvision:pw@localhost:5432/securityvision"
    assert settings.database_conninfo() == expected
    assert settings.database_configured is False


# --- _FILE variants ----------------------------------------------------------------------


def test_a_file_variant_supplies_the_value_without_its_trailing_newline(tmp_path: Path) -> None:
    password = tmp_path / "db_password"
    password.write_text("s3cret value\n\n")
    port = tmp_path / "port"
    port.write_text("1884\n")

    settings = load({"RTLS_DB_PASSWORD_FILE": str(password), "RTLS_MQTT_PORT_FILE": str(port)})

    assert settings.rtls_db_password == Secret("s3cret value\n")
    assert settings.rtls_mqtt_port == 1884


def test_setting_a_variable_and_its_file_variant_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(STRONG_KEY)

    error = config_error({"SVPOS_SECRET_KEY": STRONG_KEY, "SVPOS_SECRET_KEY_FILE": str(path)})

    assert str(error).startswith("SVPOS_SECRET_KEY: ")
    assert STRONG_KEY not in str(error)


def test_an_unreadable_file_variant_is_an_error_naming_it(tmp_path: Path) -> None:
    error = config_error({"RTLS_DB_PASSWORD_FILE": str(tmp_path / "missing")})

    assert str(error).startswith("RTLS_DB_PASSWORD_FILE: ")
    assert error.variable == "RTLS_DB_PASSWORD_FILE"


def test_a_malformed_value_read_from_a_file_names_the_file_variable(tmp_path: Path) -> None:
    path = tmp_path / "port"
    path.write_text("abc\n")

    error = config_error({"RTLS_MQTT_PORT_FILE": str(path)})

    assert str(error) == "RTLS_MQTT_PORT_FILE: expected an integer, got 'abc'"


# --- .env file ---------------------------------------------------------------------------


def test_the_env_file_supplies_variables_the_environment_does_not_set(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RTLS_MQTT_HOST=from-file\nRTLS_MQTT_PORT=1884\n")

    settings = load({"RTLS_MQTT_HOST": "from-process"}, env_file=env_file)

    assert settings.rtls_mqtt_host == "from-process"
    assert settings.rtls_mqtt_port == 1884


def test_a_file_variant_in_the_environment_beats_the_variable_in_the_env_file(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-secret-file")
    env_file = tmp_path / ".env"
    env_file.write_text("RTLS_DB_PASSWORD=from-env-file\n")

    settings = load({"RTLS_DB_PASSWORD_FILE": str(secret)}, env_file=env_file)

    assert settings.rtls_db_password == Secret("from-secret-file")


def test_a_missing_env_file_is_not_an_error(tmp_path: Path) -> None:
    assert load({}, env_file=tmp_path / "absent.env") == Settings()


def test_lower_case_names_of_the_original_env_files_are_accepted(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("rtls_db_host=db.internal\nrtls_db_password=pw\n")

    settings = load({}, env_file=env_file)

    assert settings.rtls_db_host == "db.internal"
    assert settings.rtls_db_password == Secret("pw")


def test_the_upper_case_spelling_wins_over_a_lower_case_one() -> None:
    settings = load({"rtls_db_host": "lower", "RTLS_DB_HOST": "upper"})

    assert settings.rtls_db_host == "upper"


# --- value syntax ------------------------------------------------------------------------


def test_an_empty_value_means_unset() -> None:
    settings = load({"RTLS_MQTT_HOST": "", "RTLS_MQTT_PORT": " ", "SVPOS_SECRET_KEY": ""})

    assert settings == Settings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("On", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_booleans_accept_the_usual_spellings(text: str, expected: bool) -> None:
    assert load({"RTLS_MQTT_TLS": text}).rtls_mqtt_tls is expected


def test_lists_are_comma_separated() -> None:
    settings = load(
        {
            "CORS_ALLOW_ORIGINS": "https://app.example.com, https://ops.example.com/",
            "MEDIA_FETCH_ALLOWED_HOSTS": "Cams.Example.com,,10.0.0.5",
            "CAMBUS_SHARD_HOSTS": "shard-1=mtx1.example.com, shard-2 = mtx2.example.com",
        }
    )

    assert settings.cors_allow_origins == ("https://app.example.com", "https://ops.example.com")
    assert settings.media_fetch_allowed_hosts == ("cams.example.com", "10.0.0.5")
    assert settings.cambus_shard_hosts == (
        ("shard-1", "mtx1.example.com"),
        ("shard-2", "mtx2.example.com"),
    )
    assert settings.cambus_shard_host("shard-2") == "mtx2.example.com"
    assert settings.cambus_shard_host("shard-9") is None


def test_log_level_is_case_insensitive_and_urls_lose_their_trailing_slash() -> None:
    settings = load({"LOG_LEVEL": "debug", "MEDIA_BASE_URL": "https://cdn.example.com/media/"})

    assert settings.log_level == "DEBUG"
    assert settings.media_base_url == "https://cdn.example.com/media"


def test_the_worker_metrics_port_may_be_zero_to_turn_it_off() -> None:
    assert load({"WORKER_METRICS_PORT": "0"}).worker_metrics_port == 0


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("RTLS_MQTT_PORT", "abc"),
        ("RTLS_MQTT_PORT", "1.5"),
        ("RTLS_MQTT_PORT", "0"),
        ("RTLS_DB_PORT", "65536"),
        ("WORKER_METRICS_PORT", "-1"),
        ("PRESENCE_SESSION_GAP_SECONDS", "0"),
        ("MEDIA_MAX_BYTES", "-5"),
        ("RTLS_MQTT_TLS", "maybe"),
        ("RUN_MIGRATIONS", "2"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_FORMAT", "xml"),
        ("LOG_FORMAT", "json\nxml"),
        ("PRESENCE_TIMEZONE", "Mars/Olympus_Mons"),
        ("PRESENCE_TIMEZONE", "../../etc/passwd"),
        ("CAMBUS_SHARD_HOSTS", "shard-1=mtx1,shard-2"),
        ("CAMBUS_SHARD_HOSTS", "=mtx1"),
        ("CAMBUS_SHARD_HOSTS", "shard-1=a,shard-1=b"),
        ("CORS_ALLOW_ORIGINS", "https://app.example.com/path"),
        ("PUBLIC_BASE_URL", "ftp://files.example.com"),
        ("SUPERADMIN_EMAIL", "admin"),
        ("RTLS_MQTT_TOPIC", "rtls/#/gateways"),
        ("CAMBUS_MQTT_BASE_TOPIC", "rtls/+/cameras"),
        ("MQTT_SHARED_GROUP", "workers/a"),
        ("DATABASE_URL", "mysql://root@db/sv"),
        ("REDIS_URL", "memcached://cache"),
        ("CORS_ALLOW_ORIGINS", "http://[unbalanced"),
        ("PUBLIC_BASE_URL", "http://[unbalanced"),
    ],
)
def test_a_malformed_value_is_one_line_that_starts_with_the_variable_name(
    name: str, text: str
) -> None:
    error = config_error({name: text})

    message = str(error)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message
    assert error.variable == name


def test_a_config_error_is_always_one_line() -> None:
    assert str(ConfigError("X: first\nsecond")) == "X: first second"


# --- secrets -----------------------------------------------------------------------------


def test_a_secret_never_shows_its_value() -> None:
    secret = Secret("hunter2-hunter2")

    assert repr(secret) == "Secret('**********')"
    assert str(secret) == "Secret('**********')"
    assert f"{secret}" == "Secret('**********')"
    assert secret.reveal() == "hunter2-hunter2"


def test_secrets_compare_and_hash_by_value() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert len({Secret("a"), Secret("a"), Secret("b")}) == 2
    assert bool(Secret("a")) is True
    assert bool(Secret("")) is False
    assert Secret("caf\udce9") == Secret("caf\udce9")


def test_redacted_lists_every_setting_with_secrets_masked() -> None:
    settings = load({"RTLS_DB_PASSWORD": "pw-value", "CAMBUS_SHARD_HOSTS": "s1=h1"})

    shown = settings.redacted()

    assert set(shown) == set(Settings.__struct_fields__)
    assert shown["rtls_db_password"] == "**********"
    assert shown["svpos_secret_key"] is None
    assert shown["cambus_shard_hosts"] == {"s1": "h1"}
    assert "pw-value" not in repr(shown)


def _environment_holding(name: str, secret: str) -> dict[str, str]:
    if name == "DATABASE_URL":
        return {name: f"postgresql://app:{secret}@db.internal/sv"}
    if name == "REDIS_URL":
        return {name: f"redis://:{secret}@cache.internal:6379/0"}
    if name == "DEVICE_SECRETS_KEY":  # at least 32 characters
        return {name: secret.ljust(32, "#")}
    return {name: secret}


_ALL_SECRETS_MASKED = msgspec.structs.replace(
    Settings(), **{name.lower(): Secret("x") for name in secret_variable_names()}
)
_MASKED_TEXT = repr(_ALL_SECRETS_MASKED) + repr(_ALL_SECRETS_MASKED.redacted())


def _appears_in(secret: str, text: str) -> bool:
    return secret in text or repr(secret)[1:-1] in text


@given(
    name=st.sampled_from(secret_variable_names()),
    secret=st.text(min_size=8).filter(str.strip),
)
def test_no_secret_text_appears_in_the_repr_or_the_redacted_settings(
    name: str, secret: str
) -> None:
    assume(not _appears_in(secret, _MASKED_TEXT))

    settings = load(_environment_holding(name, secret))

    assert not _appears_in(secret, repr(settings))
    assert not _appears_in(secret, str(settings))
    assert not _appears_in(secret, repr(settings.redacted()))


@given(text=st.text(min_size=8))
def test_a_malformed_secret_is_never_quoted_in_the_error(text: str) -> None:
    assume(not text.startswith(("postgres://", "postgresql://", "postgresql+", "postgres+")))
    assume(text.strip())

    error = config_error({"DATABASE_URL": text})

    assert str(error) == "DATABASE_URL: expected a postgresql:// URL, got an invalid value"


# --- serving safety ----------------------------------------------------------------------


def test_serving_without_a_jwt_key_stops_with_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        check_serving_safety(load({}))

    assert str(caught.value) == WEAK_KEY_MESSAGE


@pytest.mark.parametrize(
    "key",
    [
        "change-me",
        "changeme",
        "secret",
        "your-secret-key",
        "CHANGE_ME_SUPER_SECRET",
        "change-me-in-production",
        "short-but-random-9f8a7c",
        "replace-with-48-random-characters",
        "CHANGE_ME_" + "x" * 40,
        "a" * 64,
    ],
)
def test_serving_with_a_weak_or_placeholder_jwt_key_is_refused(key: str) -> None:
    settings = load({"SVPOS_SECRET_KEY": key})

    with pytest.raises(ConfigError) as caught:
        check_serving_safety(settings)
    assert str(caught.value) == WEAK_KEY_MESSAGE


def test_serving_with_a_strong_jwt_key_passes() -> None:
    check_serving_safety(load({"SVPOS_SECRET_KEY": STRONG_KEY}))


def test_jwt_secret_is_an_alias_that_svpos_secret_key_overrides() -> None:
    alias_only = load({"JWT_SECRET": STRONG_KEY})
    both = load({"JWT_SECRET": STRONG_KEY, "SVPOS_SECRET_KEY": STRONG_KEY[::-1]})

    check_serving_safety(alias_only)
    assert alias_only.jwt_key == Secret(STRONG_KEY)
    assert both.jwt_key == Secret(STRONG_KEY[::-1])


def test_anonymous_mode_is_refused_outside_dev() -> None:
    settings = load({"SVPOS_SECRET_KEY": STRONG_KEY, "ALLOW_ANONYMOUS_DEV_MODE": "true"})

    with pytest.raises(ConfigError, match=r"^ALLOW_ANONYMOUS_DEV_MODE: anonymous access"):
        check_serving_safety(settings)


def test_dev_mode_accepts_a_missing_key_and_the_anonymous_flag() -> None:
    check_serving_safety(load({"ALLOW_ANONYMOUS_DEV_MODE": "true"}, dev=True))


# --- the documents that describe the configuration ---------------------------------------


def test_the_configuration_document_names_every_variable() -> None:
    document = (REPOSITORY / "docs" / "configuration.md").read_text(encoding="utf-8")

    missing = [name for name in variable_names() if f"`{name}`" not in document]

    assert missing == []


def test_the_env_example_loads_and_only_names_known_variables() -> None:
    example = REPOSITORY / ".env.example"
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example.read_text(), re.MULTILINE))
    known = set(variable_names())

    settings = load({}, env_file=example)

    assert names - known - {f"{name}_FILE" for name in known} == set()
    with pytest.raises(ConfigError, match=r"^SVPOS_SECRET_KEY: "):
        check_serving_safety(settings)

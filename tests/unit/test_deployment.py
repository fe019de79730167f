"""The deployment files, checked without Docker: the compose files parse, every file they
mount or build from exists, every variable they give our services is a setting of
``config.py`` (or its ``_FILE`` form), the image is multi-stage and runs as a non-root user,
and the broker's configuration is the one docs/operations.md describes."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from securityvision.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ["docker-compose.yml", "docker-compose.prod.yml"]
KNOWN = {name.upper() for name in Settings.__struct_fields__}
OUR_COMMANDS = {"serve", "worker"}


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(document, dict)
    return document


def our_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run this image (``serve`` or ``worker``)."""
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("command") and service["command"][0] in OUR_COMMANDS
    }


def mounted_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes", []):
        source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
        if source.startswith((".", "/")):
            sources.append(source)
    return sources


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_the_compose_file_runs_postgres_mosquitto_the_api_and_workers(name: str) -> None:
    compose = load(name)
    services = compose["services"]
    assert {"postgres", "mosquitto"} <= services.keys()
    commands = [service["command"][0] for service in our_services(compose).values()]
    assert "serve" in commands
    assert "worker" in commands
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto:2")


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_file_the_compose_file_mounts_or_builds_from_exists(name: str) -> None:
    compose = load(name)
    for service_name, service in compose["services"].items():
        build = service.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            assert (ROOT / context / "Dockerfile").is_file(), service_name
        for source in mounted_sources(service):
            assert (ROOT / source).exists(), f"{name}: {service_name} mounts missing {source}"
    for secret, spec in compose.get("secrets", {}).items():
        # Secrets are made by the operator, never kept in the repository.
        assert spec["file"].startswith("./secrets/"), secret
    assert not (ROOT / "secrets").exists() or not any((ROOT / "secrets").iterdir())


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_variable_given_to_our_services_is_a_known_setting(name: str) -> None:
    compose = load(name)
    services = our_services(compose)
    assert services
    for service_name, service in services.items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{service_name}: use the mapping form"
        for variable in environment:
            setting = variable.removesuffix("_FILE")
            assert setting in KNOWN, f"{name}: {service_name} sets unknown {variable}"
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                secret = Path(str(value)).name
                assert secret in service.get("secrets", []), f"{service_name}: {variable}"


def test_production_secrets_are_files_and_workers_share_a_group_with_fixed_ids() -> None:
    compose = load("docker-compose.prod.yml")
    services = our_services(compose)
    secret_words = ("PASSWORD", "SECRET", "KEY", "TOKEN")
    for service_name, service in services.items():
        for variable in service["environment"]:
            if any(word in variable for word in secret_words):
                assert variable.endswith("_FILE"), f"{service_name}: {variable} in the clear"
    workers = [s for s in services.values() if s["command"][0] == "worker"]
    assert len(workers) >= 2
    assert len({w["environment"]["MQTT_SHARED_GROUP"] for w in workers}) == 1
    ids = [w["environment"]["RTLS_MQTT_CLIENT_ID"] for w in workers]
    assert len(set(ids)) == len(ids)


def test_the_image_is_multi_stage_and_runs_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?", dockerfile, flags=re.MULTILINE)
    assert len(stages) >= 2
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["securityvision"\]', dockerfile, flags=re.MULTILINE)
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path


def mosquitto_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            settings.setdefault(key, []).append(value)
    return settings


def test_the_broker_is_configured_as_the_operations_guide_says() -> None:
    conf = mosquitto_settings((ROOT / "deploy" / "mosquitto.conf").read_text())
    assert conf["persistence"] == ["true"]
    assert conf["allow_anonymous"] == ["false"]
    assert int(conf["max_queued_messages"][0]) >= 100_000
    assert int(conf["max_inflight_messages"][0]) >= 1000
    assert "password_file" in conf
    assert conf["acl_file"] == ["/mosquitto/config/mosquitto.acl"]
    tls = mosquitto_settings((ROOT / "deploy" / "mosquitto-prod.d" / "tls.conf").read_text())
    assert tls["listener"] == ["8883"]
    assert {"cafile", "certfile", "keyfile"} <= tls.keys()
    acl = (ROOT / "deploy" / "mosquitto.acl").read_text()
    entrypoint = (ROOT / "deploy" / "mosquitto-entrypoint.sh").read_text()
    users = re.findall(r"^user (\S+)", acl, flags=re.MULTILINE)
    [listed] = re.findall(r"^for user in ([a-z ]+); do", entrypoint, flags=re.MULTILINE)
    assert sorted(users) == sorted(listed.split())


# The API's request metrics, made by Litestar's Prometheus middleware under our prefix.
HTTP_METRICS = {
    "securityvision_requests_total",
    "securityvision_request_duration_seconds",
    "securityvision_requests_in_progress",
    "securityvision_requests_error_total",
}


def test_every_metric_the_operations_guide_names_exists() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    named = set(re.findall(r"`(securityvision_[a-z_]+)", guide)) - HTTP_METRICS
    source = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.py"))
    assert named
    for metric in named:
        base = re.sub(r"_(bucket|count|sum)$", "", metric)
        assert base in source or base.removesuffix("_total") in source, metric

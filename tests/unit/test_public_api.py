"""The library face (docs/library.md): the public names stay importable, nothing else slips in
unannounced, importing the library loads no framework, driver or MQTT client, and every
public use case is where the container says it is."""

import importlib
import re
import subprocess
import sys
import typing
from pathlib import Path

import securityvision
from securityvision.container import Container

PUBLIC_API = Path(__file__).with_name("public_api.txt")
SUBMODULES = (
    "securityvision.domain",
    "securityvision.ports",
    "securityvision.usecases",
    "securityvision.adapters",
    "securityvision.codecs",
)
# What a service embedding the library must not be made to load.
HEAVY = (
    "litestar",
    "uvicorn",
    "paho",
    "aiomqtt",
    "psycopg",
    "psycopg_pool",
    "httpx",
    "jwt",
    "argon2",
    "dependency_injector",
    "prometheus_client",
)


def recorded() -> set[tuple[str, str]]:
    entries = set()
    for line in PUBLIC_API.read_text().splitlines():
        if line and not line.startswith("#"):
            module, name = line.split()
            entries.add((module, name))
    return entries


def declared() -> set[tuple[str, str]]:
    entries = {(m, n) for m in SUBMODULES for n in importlib.import_module(m).__all__}
    from_submodules = {n for _, n in entries}
    return entries | {
        ("securityvision", n) for n in securityvision.__all__ if n not in from_submodules
    }


def loaded_by(code: str, tmp_path: Path) -> set[str]:
    """The HEAVY modules a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    return set(result.stdout.split())


def test_every_recorded_public_name_is_still_importable_from_its_module_and_the_root() -> None:
    missing = [
        f"{module}.{name}"
        for module, name in sorted(recorded())
        if not hasattr(importlib.import_module(module), name) or not hasattr(securityvision, name)
    ]
    assert missing == []


def test_the_public_names_are_exactly_the_recorded_ones() -> None:
    added = sorted(f"{m} {n}" for m, n in declared() - recorded())
    removed = sorted(f"{m} {n}" for m, n in recorded() - declared())
    assert (added, removed) == ([], []), (
        "the public API changed: update tests/unit/public_api.txt and say so in CHANGELOG.md"
    )


def test_the_package_root_exports_every_public_name_once() -> None:
    names = securityvision.__all__
    assert len(names) == len(set(names))
    assert {n for _, n in recorded()} == set(names)


def test_the_container_is_loaded_only_when_asked_for() -> None:
    assert (
        securityvision.build_container
        is importlib.import_module("securityvision.container").build_container
    )
    assert securityvision.__version__


def test_importing_the_library_loads_no_framework_driver_or_mqtt_client(tmp_path: Path) -> None:
    imports = "\n".join(f"import {m}" for m in ("securityvision", *SUBMODULES))
    assert loaded_by(imports + "\nfrom securityvision import *", tmp_path) <= {
        # The star import asks for build_container too, and so loads the container.
        "psycopg",
        "psycopg_pool",
        "httpx",
        "jwt",
        "argon2",
        "dependency_injector",
        "prometheus_client",
    }
    assert loaded_by(imports, tmp_path) == set()


def test_a_container_on_the_memory_adapters_loads_no_web_framework_nor_mqtt_client(
    tmp_path: Path,
) -> None:
    code = (
        "import securityvision as sv\n"
        "c = sv.build_container(sv.Settings(), memory=True)\n"
        "c.ingest_gateway_messages(); c.ingest_camera_message(); c.current_positions()\n"
    )
    assert not loaded_by(code, tmp_path) & {"litestar", "uvicorn", "aiomqtt", "paho"}


def test_every_public_use_case_is_the_container_provider_of_its_name() -> None:
    """As securityvision.usecases says: the reports are the fields of ``reports``, and
    ``DeliverOutbox`` is one pass of the relay (``mqtt_relay``) that builds it."""
    usecases = importlib.import_module("securityvision.usecases")
    in_reports = set(typing.get_type_hints(usecases.Reports).values())
    missing = [
        name
        for name in usecases.__all__
        if hasattr(value := getattr(usecases, name), "execute")
        and re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() not in Container.providers
        and value not in in_reports
        and name != "DeliverOutbox"
    ]
    assert missing == []

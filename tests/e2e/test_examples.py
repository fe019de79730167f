"""examples/embedded_service.py, run as a user would run it, so it never rots: it processes
the payload samples through the public API alone, loads no web framework or MQTT client, and
type-checks under mypy --strict as a user's code does."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.rtls import SHARED_FIXTURES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "embedded_service.py"
EXAMPLE_FIXTURES = ROOT / "examples" / "fixtures"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embedded_service", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_example_service_processes_the_payload_samples() -> None:
    summary = await load_example().run()
    # readings.json: two registered tags heard with times of their own (the third is unknown).
    assert summary.readings_stored == 2
    assert summary.unknown_tag_readings > 0
    assert summary.positions == {
        "Ana Souza": "HQ / Lobby (Lobby gateway)",
        "Bruno Lima": "HQ / Lobby (Lobby gateway)",
    }
    # Events and the status of camera fixa01 stored; doca01 is not registered; the uplink reply
    # lives under another base topic; the collector's status has nothing to store.
    assert summary.cameras == {
        "stored": 4,
        "unknown_camera": 1,
        "unknown_topic": 1,
        "nothing to store": 1,
    }
    # Two captures 87 s apart (beyond the 60 s cooldown): two incidents; the recognition
    # repeating the first capture's EventID enriches the first.
    first, second = sorted(summary.incidents, key=lambda i: i.id)
    assert (first.title, str(first.severity), first.person_name) == (
        "Face at Portaria",
        "HIGH",
        "Maria Silva",
    )
    assert second.person_name is None
    created = [n for n in summary.notices if n.startswith("incident.created")]
    assert created == [f"incident.created #{first.id}", f"incident.created #{second.id}"]
    assert f"incident.updated #{first.id}" in summary.notices


def test_the_example_runs_as_a_script_without_a_web_framework_or_an_mqtt_client(
    tmp_path: Path,
) -> None:
    code = (
        "import runpy, sys\n"
        f"sys.argv = [{str(EXAMPLE)!r}]\n"
        f"runpy.run_path({str(EXAMPLE)!r}, run_name='__main__')\n"
        "heavy = ('litestar', 'uvicorn', 'aiomqtt', 'paho')\n"
        "print('loaded:', *[m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("gateways: 2 readings stored")
    assert "  Ana Souza is at HQ / Lobby (Lobby gateway)" in lines
    assert lines[-1] == "loaded:"
    assert result.stderr == ""


def test_the_example_reads_copies_of_the_shared_samples() -> None:
    if not SHARED_FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {SHARED_FIXTURES}", pytrace=False)
    copies = sorted(p.relative_to(EXAMPLE_FIXTURES) for p in EXAMPLE_FIXTURES.rglob("*.*"))
    assert len(copies) > 20
    stale = [
        str(p)
        for p in copies
        if (SHARED_FIXTURES / p).read_bytes() != (EXAMPLE_FIXTURES / p).read_bytes()
    ]
    assert stale == []


def test_the_example_type_checks_strictly_as_a_users_code(tmp_path: Path) -> None:
    """From outside the project (none of its mypy settings apply), against the installed
    package: its annotations reach users through py.typed."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "examples"),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""Schemathesis over ``/openapi.json``: every operation, called as the superadmin with inputs
generated from its schema (valid and not), never answers 5xx, and every answer matches the
schema (status code documented, content type, body).

Against ``securityvision serve`` as a subprocess over real HTTP and PostgreSQL. Examples per
operation are few (``EXAMPLES``), so the run stays short in CI; raise it locally to dig.
"""

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.databases import temporary_database
from tests.support.services import free_port

pytestmark = pytest.mark.postgres

EXAMPLES = int(os.environ.get("SECURITYVISION_CONFORMANCE_EXAMPLES", "3"))
ADMIN = "conformance@example.com"
PASSWORD = "Conformance-passw0rd-long"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class Served:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token


@pytest.fixture(scope="module")
def served(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("conformance")
    port = free_port()
    with temporary_database(postgres_server_url) as url:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "RTLS_", "SUPERADMIN_", "SVPOS_", "JWT_"))
        } | {
            "DATABASE_URL": url,
            "SVPOS_SECRET_KEY": secrets.token_urlsafe(48),
            "SUPERADMIN_EMAIL": ADMIN,
            "SUPERADMIN_PASSWORD": PASSWORD,
            "RTLS_MQTT_ENABLED": "false",
            "MEDIA_ROOT": str(tmp / "media"),
            "LOG_LEVEL": "WARNING",
        }
        log = tmp / "serve.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "securityvision", "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            token = _login(base, process, log)
            yield Served(base, token)
        finally:
            process.terminate()
            process.wait(30)
        server_errors = [
            line for line in log.read_text().splitlines() if "Traceback" in line or "ERROR" in line
        ]
        assert not server_errors, log.read_text()[-6000:]


def _login(base: str, process: "subprocess.Popen[bytes]", log: Path) -> str:
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, log.read_text()
        try:
            response = httpx.post(
                f"{base}/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD}, timeout=5
            )
            if response.status_code == 200:
                return str(response.json()["access_token"])
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)


def _exercise(operation: APIOperation, served: Served, mode: GenerationMode) -> str | None:
    """Run one operation's examples; the first failure, described, or None."""
    headers = {"Authorization": f"Bearer {served.token}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=served.base, headers=headers, checks=CHECKS, timeout=20)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, reported together
        return f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:3000]
    return None


def test_every_operation_answers_within_its_schema(served: Served) -> None:
    schema = schemathesis.openapi.from_url(f"{served.base}/openapi.json")
    operations = [
        operation
        for result in schema.get_all_operations()
        # The event stream never ends by design; tests/integration covers it.
        if not (operation := result.ok()).path.endswith("/events/stream")
    ]
    assert len(operations) > 50
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := _exercise(operation, served, mode)) is not None
    ]
    assert not failures, "\n\n".join(failures)

"""The embedded broker's logs: a late PUBACK is one warning line, not a traceback."""

import logging

import pytest

from securityvision.adapters import embedded


def test_a_late_puback_is_not_repeated_with_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    embedded._quiet_noisy_loggers()
    broker = logging.getLogger("amqtt.broker")
    late = TimeoutError("Timeout waiting for PUBACK for packet ID 8")

    broker.error("Task failed and will be skipped: %s", "<Task>", exc_info=late)
    broker.error("something else failed", exc_info=ValueError("boom"))

    assert [r.getMessage() for r in caplog.records if r.name == "amqtt.broker"] == [
        "something else failed"
    ]

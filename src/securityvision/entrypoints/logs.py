"""Logging set-up for every process: text for people, JSON for collectors."""

import json
import logging
import sys
from datetime import UTC, datetime

from securityvision.config import Settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # Third-party chatter stays at WARNING unless we are debugging.
    if settings.log_level.upper() != "DEBUG":
        for noisy in ("psycopg.pool", "amqtt", "transitions", "httpx"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

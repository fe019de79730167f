"""The adapters, public part: the ones that need no server, for embedding and for tests.

``InMemoryStorage`` implements every storage port in process memory and passes the same
contract suite as PostgreSQL (tests/contract); its read models (positions, reports,
rollup) come with it. The PostgreSQL, MQTT, HTTP and security adapters stay private: reach
them through ``build_container``. The modules inside this package are private.

Everything named in ``__all__`` is public API and follows semantic versioning.
"""

from securityvision.adapters.clock import SystemClock
from securityvision.adapters.media import FilesystemMediaStore, InMemoryMediaStore
from securityvision.adapters.memory import (
    InMemoryPositionQueries,
    InMemoryRollupStore,
    InMemoryStorage,
)
from securityvision.adapters.memory_presence_totals import InMemoryPresenceTotals
from securityvision.adapters.memory_reports import InMemoryReportQueries

__all__ = [
    "FilesystemMediaStore",
    "InMemoryMediaStore",
    "InMemoryPositionQueries",
    "InMemoryPresenceTotals",
    "InMemoryReportQueries",
    "InMemoryRollupStore",
    "InMemoryStorage",
    "SystemClock",
]

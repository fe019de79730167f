"""SecurityVision: the backend of a physical-security control room, as a library.

``import securityvision`` gives the domain models, the use cases, the ports they need and the
adapters that need no server; ``build_container(settings, **overrides)`` wires them all with
the production adapters, any of which you may replace by your own. Importing this package
loads no web framework, no MQTT client and no database driver (``build_container`` loads the
database driver when first used). docs/library.md tells how to use it.

Public API: the names in ``__all__`` here (the configuration's ``Settings``,
``load_settings``, ``ConfigError`` and ``Secret`` among them) and in ``securityvision.domain``,
``securityvision.ports``, ``securityvision.usecases``, ``securityvision.adapters`` and
``securityvision.codecs``. Everything else is private and may change in any release; the
public API follows semantic versioning (CHANGELOG.md).
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

# The root re-exports each public submodule's names: their ``__all__`` is the one list of them.
from securityvision import adapters, codecs, domain, ports, usecases
from securityvision.adapters import *
from securityvision.codecs import *
from securityvision.config import ConfigError, Secret, Settings, load_settings
from securityvision.domain import *
from securityvision.ports import *
from securityvision.usecases import *

if TYPE_CHECKING:
    from securityvision.container import Container, build_container

    __version__: str

# Loaded when first asked for: the container brings the production adapters (the PostgreSQL
# driver, argon2, JWT, dependency-injector), which a service wiring the use cases itself
# never needs; the version reads the installed metadata.
_LAZY = frozenset({"Container", "build_container"})


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module("securityvision.container"), name)
    if name == "__version__":
        try:
            return version("securityvision")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'securityvision' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "Container",
    "Secret",
    "Settings",
    "__version__",
    "build_container",
    "load_settings",
]
__all__ += domain.__all__
__all__ += ports.__all__
__all__ += usecases.__all__
__all__ += adapters.__all__
__all__ += codecs.__all__

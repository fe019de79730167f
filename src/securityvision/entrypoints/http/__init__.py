"""The HTTP entrypoint.

``uvicorn securityvision.entrypoints.http:app`` works: ``app`` is built from the environment
(the factory lives in ``app_factory``, so no submodule shadows the name ``app``)
on first access (PEP 562), not when the module is imported.
"""

from typing import Any

from securityvision.config import check_serving_safety, load_settings
from securityvision.container import build_container
from securityvision.entrypoints.http.app_factory import create_app
from securityvision.entrypoints.logs import configure_logging

__all__ = ["app_from_environment", "create_app"]


def app_from_environment() -> Any:
    settings = load_settings()
    check_serving_safety(settings)
    configure_logging(settings)
    return create_app(build_container(settings))


def __getattr__(name: str) -> Any:
    if name == "app":
        return app_from_environment()
    raise AttributeError(name)

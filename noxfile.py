"""Checks the README and CI run: lint, typecheck, imports (layer contracts), tests.

``nox --no-venv`` runs them in the current environment and installs nothing (how README and
``.ci/run`` call it, inside the project's ``.venv``); plain ``nox`` gives each session a
virtualenv of its own with ``-e .[dev]`` installed.
"""

import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "imports", "tests"]
nox.options.reuse_venv = "yes"

LINTED = [p for p in ("src", "tests", "bench", "examples", "noxfile.py") if Path(p).exists()]


def python(session: nox.Session) -> str:
    """The interpreter to run tools with, as ``python -m tool``.

    Without a virtualenv, the one running nox: its environment has the tools, and the
    shell's PATH, where nox would look for ``ruff`` or ``pytest``, may not lead there.
    """
    if session.venv_backend == "none":
        return sys.executable
    session.install("-e", ".[dev]")
    return "python"


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff's lint rules and formatting."""
    interpreter = python(session)
    session.run(interpreter, "-m", "ruff", "check", *LINTED)
    session.run(interpreter, "-m", "ruff", "format", "--check", *LINTED)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.run(python(session), "-m", "mypy", "--strict", "src")


@nox.session
def imports(session: nox.Session) -> None:
    """The import-linter contracts of pyproject.toml (the layers of the architecture)."""
    session.run(
        python(session),
        "-c",
        "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())",
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite; arguments after ``--`` go to pytest."""
    session.run(python(session), "-m", "pytest", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """The chaos suite's full profile (30 s database cut, longer outages, more load), with its
    figures printed; not a default session: the test suite runs its short profile."""
    session.run(
        python(session),
        "-m",
        "pytest",
        "tests/chaos",
        "-s",
        "-q",
        *session.posargs,
        env={"SECURITYVISION_CHAOS": "full"},
    )

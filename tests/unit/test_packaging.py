"""What `pip install securityvision` gets: the wheel builds, and carries the type marker (so
users' type checkers read our annotations) and every migration, once each."""

import zipfile
from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "src" / "securityvision" / "adapters" / "postgres" / "migrations"


def test_the_wheel_ships_the_type_marker_and_every_migration(tmp_path: Path) -> None:
    wheel = Path(
        next(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    )
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "securityvision/py.typed" in names
    assert "securityvision/__init__.py" in names
    shipped = [
        name.rsplit("/", 1)[1]
        for name in names
        if name.startswith("securityvision/adapters/postgres/migrations/")
    ]
    assert sorted(shipped) == sorted(path.name for path in MIGRATIONS.glob("*.sql"))
    assert len(names) == len(set(names))

"""A service that embeds SecurityVision: no web server, no MQTT client, no database.

It builds the library's container on the in-memory storage and plugs in three adapters of
its own: a clock (fixed, so the recorded payloads are "recent"), an incident notifier that
collects what it is told, and no image fetcher (snapshots by URL are refused; inline ones are
kept). It registers two people with tags, a camera and an incident rule, then feeds the
recorded gateway reports and cam-bus messages of ``fixtures/`` (copies of the shared payload
samples) through the library's codecs and use cases, and prints what came of it.

    python examples/embedded_service.py [FIXTURES_DIR]

Only ``securityvision`` itself is imported (the public API, docs/library.md).
"""

import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import msgspec

import securityvision as sv

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Just after the last recorded payload: readings more than 5 minutes ahead would be refused.
NOW = datetime(2026, 11, 29, 10, 7, tzinfo=UTC)
PEOPLE = {"AA:BB:CC:DD:EE:01": "Ana Souza", "AA:BB:CC:DD:EE:02": "Bruno Lima"}


class FixedClock:
    """The ``Clock`` port: the time it was told."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


class CollectingNotifier:
    """The ``IncidentNotifier`` port: keeps every notice.

    It is called inside the transaction of the change, so a real one adds to the outbox
    (``uow.outbox``) and leaves sending to a relay; this one only remembers, for the report.
    """

    def __init__(self) -> None:
        self.notices: list[sv.IncidentNotice] = []

    async def notify(self, uow: sv.UnitOfWork, notice: sv.IncidentNotice) -> None:
        self.notices.append(notice)


class Summary(msgspec.Struct, kw_only=True):
    """What the run did, for people (``lines``) and for the tests."""

    readings_stored: int
    unknown_tag_readings: int
    rejected: dict[str, int]
    positions: dict[str, str]
    cameras: dict[str, int]
    incidents: list[sv.Incident]
    notices: list[str]

    def lines(self) -> list[str]:
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items())) or "none"
        return [
            f"gateways: {self.readings_stored} readings stored, "
            f"{self.unknown_tag_readings} of unknown tags, rejected: {rejected}",
            *(f"  {person} is at {place}" for person, place in self.positions.items()),
            "cameras: " + ", ".join(f"{k} {v}" for k, v in sorted(self.cameras.items())),
            *(
                f"  incident #{i.id} [{i.severity}] {i.title}"
                + (f", {i.person_name} recognised" if i.person_name else "")
                for i in self.incidents
            ),
            f"notifier: {len(self.notices)} notices",
            *(f"  {notice}" for notice in self.notices),
        ]


def recorded(folder: Path) -> list[tuple[str, bytes]]:
    """(topic, payload) of every sample: ``NAME.topic`` beside its payload file."""
    samples = []
    for topic_file in sorted(folder.glob("*.topic")):
        payload = next(
            p
            for p in sorted(folder.glob(f"{topic_file.stem}.*"))
            if p.suffix != ".topic" and not p.name.endswith(".expect.json")
        )
        samples.append((topic_file.read_text().strip(), payload.read_bytes()))
    return samples


async def register(container: sv.Container) -> None:
    """The site as an operator would set it up: a gateway placed on a floor plan, people
    with tags, a camera and an incident rule."""
    building = await container.create_building().execute(sv.NewBuilding(name="HQ", code="HQ"))
    floor = await container.create_floor().execute(
        sv.NewFloor(building_id=building.id, name="Ground floor", level=0)
    )
    plan = await container.create_floor_plan().execute(
        sv.NewFloorPlan(floor_id=floor.id, name="Lobby")
    )
    await container.create_device().execute(
        sv.NewDevice(
            name="Lobby gateway",
            code="GW_LOBBY",
            mac_address="AC:23:3F:C0:7D:A5",
            floor_plan_id=plan.id,
            pos_x=0.5,
            pos_y=0.5,
        )
    )
    for mac, name in PEOPLE.items():
        person = await container.create_person().execute(sv.PersonDraft(full_name=name))
        await container.create_tag().execute(
            sv.TagDraft(mac_address=mac, person_id=person.person.id)
        )
    await container.create_camera().execute(sv.NewDevice(name="Portaria", code="fixa01"))
    await container.create_incident_rule().execute(
        sv.NewIncidentRule(
            name="Face at the gate",
            analytic_type="faceCapture",
            severity=sv.Severity.HIGH,
            title_template="Face at {camera_name}",
        )
    )


async def run(fixtures: Path = FIXTURES) -> Summary:
    notifier = CollectingNotifier()
    container = sv.build_container(
        sv.Settings(),
        memory=True,
        clock=FixedClock(NOW),
        incident_notifier=notifier,
        image_fetcher=None,
    )
    await register(container)

    # Gateway reports: decoded one by one, stored as one batch (one transaction).
    rejected: Counter[str] = Counter()
    deliveries = []
    for topic, payload in recorded(fixtures / "gateways"):
        delivery = sv.gateway_delivery(topic, payload, received_at=NOW)
        if isinstance(delivery, sv.Rejection):
            rejected[delivery.reason] += 1
        else:
            deliveries.append(delivery)
    report = await container.ingest_gateway_messages().execute(deliveries)
    rejected.update(report.rejected)
    positions = await container.current_positions().execute(sv.PositionFilter(), 0)

    # cam-bus messages: each in a transaction of its own, through the incident rules.
    cameras: Counter[str] = Counter()
    for topic, payload in recorded(fixtures / "cambus"):
        message = sv.camera_message(topic, payload, received_at=NOW)
        if message is None:
            cameras["nothing to store"] += 1
        elif isinstance(message, sv.Rejection):
            cameras[message.reason] += 1
        else:
            outcome = await container.ingest_camera_message().execute(message)
            cameras[str(outcome.outcome)] += 1

    return Summary(
        readings_stored=report.stored,
        unknown_tag_readings=report.unknown_tags,
        rejected=dict(rejected),
        positions={
            p.person_full_name: f"{p.building_name} / {p.floor_plan_name} ({p.device_name})"
            for p in positions
        },
        cameras=dict(cameras),
        incidents=[d.incident for d in await container.list_incidents().execute()],
        notices=[f"{n.kind} #{n.incident.id}" for n in notifier.notices],
    )


def main(argv: list[str]) -> None:
    fixtures = Path(argv[1]) if len(argv) > 1 else FIXTURES
    for line in asyncio.run(run(fixtures)).lines():
        print(line)


if __name__ == "__main__":
    main(sys.argv)

"""Every report route over HTTP: status, the fields the front end reads, bare arrays where it
expects them, 400 without a finite window, default windows on a fixed clock."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from securityvision.config import load_settings
from securityvision.container import build_container
from securityvision.entrypoints.http import create_app
from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, TEST_SECRET, login
from tests.support.clock import FakeClock
from tests.support.postgres import truncate_all

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 28, 13, 15, tzinfo=UTC)
Client = AsyncTestClient


def iso(ts: datetime) -> str:
    """As the front end sends it: ``Date.toISOString()``."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
async def app_client(migrated_database_url: str) -> AsyncIterator[Client]:
    """The app on a clock stopped at NOW (default windows end there)."""
    await truncate_all(migrated_database_url)
    settings = load_settings(
        {
            "DATABASE_URL": migrated_database_url,
            "SVPOS_SECRET_KEY": TEST_SECRET,
            "SUPERADMIN_EMAIL": ROOT_EMAIL,
            "SUPERADMIN_PASSWORD": ROOT_PASSWORD,
            "RTLS_MQTT_ENABLED": "false",
        },
        env_file=None,
    )
    app = create_app(build_container(settings, clock=FakeClock(NOW)))
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        yield client


async def post(client: Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, (path, response.text)
    return response.json()


@pytest.fixture
async def world(app_client: Client) -> dict[str, Any]:
    """A building with a placed gateway, a person of a group wearing a tag, and two
    sessions read through POST /collection-logs (one an hour ago, one 30 hours ago)."""
    headers = await login(app_client, ROOT_EMAIL, ROOT_PASSWORD)
    building = await post(app_client, "/api/v1/buildings/", {"name": "Torre", "code": "T"}, headers)
    floor = await post(
        app_client, "/api/v1/floors/", {"name": "F1", "building_id": building["id"]}, headers
    )
    plan = await post(
        app_client, "/api/v1/floor-plans/", {"name": "P", "floor_id": floor["id"]}, headers
    )
    gateway = await post(
        app_client,
        "/api/v1/devices/",
        {"name": "GW", "mac_address": "AA:BB:CC:DD:EE:01", "floor_plan_id": plan["id"]},
        headers,
    )
    person = await post(app_client, "/api/v1/people/", {"full_name": "Ana Lima"}, headers)
    group = await post(app_client, "/api/v1/person-groups/", {"name": "Staff"}, headers)
    members = await app_client.put(
        f"/api/v1/person-groups/{group['id']}/people",
        json={"people_ids": [person["id"]]},
        headers=headers,
    )
    assert members.status_code == 200, members.text
    tag = await post(
        app_client,
        "/api/v1/tags/",
        {"mac_address": "11:22:33:44:55:66", "person_id": person["id"], "is_active": True},
        headers,
    )
    for start in (NOW - timedelta(hours=1), NOW - timedelta(hours=30)):
        for second in range(0, 70, 10):
            await post(
                app_client,
                "/api/v1/collection-logs/",
                {
                    "device_id": gateway["id"],
                    "tag_id": tag["id"],
                    "rssi": -60,
                    "created_at": (start + timedelta(seconds=second)).isoformat(),
                },
                headers,
            )
    return {
        "headers": headers,
        "building": building["id"],
        "gateway": gateway["id"],
        "person": person["id"],
        "group": group["id"],
        "tag": tag["id"],
    }


def window(hours: int = 48) -> str:
    return f"from_ts={iso(NOW - timedelta(hours=hours))}&to_ts={iso(NOW)}"


async def get(client: Client, world: dict[str, Any], path: str) -> Any:
    response = await client.get(path, headers=world["headers"])
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def test_the_overview_and_summaries_answer_what_the_front_end_reads(
    app_client: Client, world: dict[str, Any]
) -> None:
    overview = await get(app_client, world, f"/api/v1/reports/overview?{window()}")
    summary = overview["summary"]
    assert (summary["total_sessions"], summary["total_dwell_seconds"]) == (2, 120.0)
    assert {"total_unique_tags", "total_unique_devices", "avg_dwell_seconds"} <= summary.keys()
    assert overview["top_buildings"][0]["building_name"] == "Torre"
    assert overview["top_people"][0]["person_name"] == "Ana Lima"
    for key in ("top_floors", "top_groups", "top_devices"):
        assert len(overview[key]) == 1

    p = world["person"]
    person = await get(
        app_client, world, f"/api/v1/reports/person/{p}/summary?{window()}&min_duration_seconds=30"
    )
    assert (person["total_dwell_seconds"], person["total_sessions"]) == (120.0, 2)
    assert person["first_session_at"] == "2026-11-27T07:15:00Z"
    [by_device] = person["dwell_by_device"]
    assert (by_device["device_name"], by_device["building_name"]) == ("GW", "Torre")

    group = await get(app_client, world, f"/api/v1/reports/person-group/{world['group']}/summary")
    assert group["total_unique_people"] == 1  # default window: 7 days before NOW
    assert group["dwell_by_person"][0]["person_full_name"] == "Ana Lima"

    timeline = await get(app_client, world, f"/api/v1/reports/person/{p}/timeline?limit=1")
    assert [t["started_at"] for t in timeline] == ["2026-11-27T07:15:00Z"]

    building = await get(
        app_client, world, f"/api/v1/reports/buildings/{world['building']}/summary"
    )
    assert building["unique_people_count"] == 1
    assert building["top_gateways_by_sessions"][0]["sessions_count"] == 2
    assert building["top_gateways_by_dwell"][0]["total_dwell_seconds"] == 120.0
    assert {"total_sessions", "total_dwell_seconds", "avg_dwell_seconds"} <= building.keys()


async def test_person_distributions_and_alerts(app_client: Client, world: dict[str, Any]) -> None:
    base = f"/api/v1/reports/person/{world['person']}"
    hours = await get(app_client, world, f"{base}/time-distribution/hour-of-day")
    assert [b["hour"] for b in hours["buckets"]] == list(range(24))
    assert hours["buckets"][12]["total_dwell_seconds"] == 60.0  # the last 24 h: one session
    by_gateway = await get(
        app_client,
        world,
        f"{base}/time-distribution/hour-by-gateway?{window(24)}&min_duration_seconds=30",
    )
    assert [(b["hour"], b["device_name"]) for b in by_gateway["buckets"]] == [(12, "GW")]
    calendar = await get(
        app_client, world, f"{base}/time-distribution/calendar?{window()}&granularity=day"
    )
    assert [(b["bucket_start"], b["sessions_count"]) for b in calendar["buckets"]] == [
        ("2026-11-26T00:00:00Z", 0),
        ("2026-11-27T00:00:00Z", 1),
        ("2026-11-28T00:00:00Z", 1),
    ]
    weekdays = await get(app_client, world, f"{base}/time-distribution/day-of-week")
    assert [b["day_of_week"] for b in weekdays["buckets"]] == list(range(7))
    alerts = await get(app_client, world, f"{base}/alerts?{window()}&max_events=500")
    assert (alerts["total_alerts"], alerts["by_type"]) == (0, [])


async def test_gateway_reports(app_client: Client, world: dict[str, Any]) -> None:
    g = world["gateway"]
    usage = await get(
        app_client, world, f"/api/v1/reports/gateways/usage-summary?{window()}&device_id={g}"
    )
    first = usage["gateways"][0]
    assert (
        first["unique_people_count"],
        first["sessions_count"],
        first["total_dwell_seconds"],
    ) == (
        1,
        2,
        120.0,
    )
    time_of_day = await get(
        app_client, world, f"/api/v1/reports/gateways/{g}/time-of-day?{window()}"
    )
    assert {"hour", "unique_people_count", "total_dwell_seconds"} <= time_of_day["buckets"][
        0
    ].keys()
    occupancy = await get(app_client, world, f"/api/v1/reports/gateways/{g}/occupancy")
    assert len(occupancy["buckets"]) == 25  # 13:00 yesterday to 13:00 today
    assert occupancy["peak"] == {"bucket_start": "2026-11-28T12:00:00Z", "unique_people_count": 1}
    assert occupancy["p50_dwell_seconds"] == 60.0
    bucket = occupancy["buckets"][0]
    assert {"bucket_start", "unique_people_count", "unique_tags_count", "total_dwell_seconds"} <= (
        bucket.keys()
    )
    concurrency = await get(app_client, world, f"/api/v1/reports/gateways/{g}/concurrency")
    assert [b["peak_concurrency_people"] for b in concurrency["buckets"]].count(1) == 1
    alerts = await get(app_client, world, f"/api/v1/reports/gateways/{g}/alerts/summary")
    assert alerts == {
        "scope": "gateway",
        "scope_id": g,
        "from_ts": iso(NOW - timedelta(days=30)).replace(".000", ""),
        "to_ts": "2026-11-28T13:15:00Z",
        "total_alerts": 0,
        "by_type": [],
    }


async def test_building_time_reports_are_bare_arrays(
    app_client: Client, world: dict[str, Any]
) -> None:
    b = world["building"]
    hours = await get(app_client, world, f"/api/v1/reports/buildings/{b}/time-of-day")
    assert isinstance(hours, list)
    assert len(hours) == 25
    assert {"bucket_start", "total_dwell_seconds", "unique_people_count"} <= hours[0].keys()
    calendar = await get(
        app_client,
        world,
        f"/api/v1/reports/buildings/{b}/time-distribution/calendar?granularity=month",
    )
    assert calendar == [
        {
            "bucket_start": "2026-10-01T00:00:00Z",
            "total_dwell_seconds": 0.0,
            "sessions_count": 0,
            "unique_tags_count": 0,
            "unique_people_count": 0,
        },
        {
            "bucket_start": "2026-11-01T00:00:00Z",
            "total_dwell_seconds": 120.0,
            "sessions_count": 2,
            "unique_tags_count": 1,
            "unique_people_count": 1,
        },
    ]
    alerts = await get(app_client, world, f"/api/v1/reports/buildings/{b}/alerts/summary")
    assert (alerts["scope"], alerts["total_alerts"]) == ("building", 0)


async def test_sessions_transitions_and_the_dashboard(
    app_client: Client, world: dict[str, Any]
) -> None:
    sessions = await get(app_client, world, f"/api/v1/reports/dwell-sessions?tag_id={world['tag']}")
    assert [(s["duration_seconds"], s["samples_count"]) for s in sessions] == [(60.0, 7), (60.0, 7)]
    assert sessions[0]["started_at"] == "2026-11-28T12:15:00Z"
    transitions = await get(
        app_client, world, f"/api/v1/reports/presence-transitions?person_id={world['person']}"
    )
    [transition] = transitions
    assert transition["transition_seconds"] == 29 * 3600 - 60
    dashboard = await get(app_client, world, "/api/v1/dashboard/summary")
    assert dashboard["gateways_online"] + dashboard["gateways_offline"] == 1
    assert {k: v for k, v in dashboard.items() if not k.startswith("gateways_")} == {
        "total_people": 1,
        "total_tags": 1,
        "total_gateways": 1,
        "active_alert_rules": 0,
        "recent_alerts_24h": 0,
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/reports/gateways/{g}/occupancy",
        "/api/v1/reports/gateways/{g}/concurrency",
        "/api/v1/reports/gateways/{g}/time-of-day",
        "/api/v1/reports/buildings/{b}/time-of-day",
        "/api/v1/reports/buildings/{b}/time-distribution/calendar",
        "/api/v1/reports/person/{p}/time-distribution/calendar",
        "/api/v1/reports/person/{p}/time-distribution/hour-of-day",
        "/api/v1/reports/person/{p}/time-distribution/day-of-week",
        "/api/v1/reports/person/{p}/time-distribution/hour-by-gateway",
    ],
)
async def test_bucket_reports_refuse_a_window_with_one_bound(
    app_client: Client, world: dict[str, Any], path: str
) -> None:
    url = path.format(g=world["gateway"], b=world["building"], p=world["person"])
    response = await app_client.get(f"{url}?from_ts={iso(NOW)}", headers=world["headers"])
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "window_required"


async def test_reports_refuse_reversed_windows_unknown_subjects_and_anonymous_callers(
    app_client: Client, world: dict[str, Any]
) -> None:
    reversed_window = f"from_ts={iso(NOW)}&to_ts={iso(NOW - timedelta(hours=1))}"
    response = await app_client.get(
        f"/api/v1/reports/overview?{reversed_window}", headers=world["headers"]
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_window")
    for path, code in (
        ("/api/v1/reports/person/999999/summary", "person_not_found"),
        ("/api/v1/reports/person-group/999999/summary", "person_group_not_found"),
        ("/api/v1/reports/gateways/999999/occupancy", "device_not_found"),
        ("/api/v1/reports/buildings/999999/summary", "building_not_found"),
    ):
        response = await app_client.get(path, headers=world["headers"])
        assert (response.status_code, response.json()["code"]) == (404, code)
    assert (await app_client.get("/api/v1/reports/overview")).status_code == 401
    bad = await app_client.get(
        f"/api/v1/reports/person/{world['person']}/time-distribution/calendar?granularity=hour",
        headers=world["headers"],
    )
    assert bad.status_code == 422


@pytest.fixture
async def alerted(app_client: Client, world: dict[str, Any]) -> dict[str, Any]:
    """The world plus alert rules made through the API (a forbidden sector for the group at
    the gateway, a 30 s dwell limit anywhere, an inactive rule), and the person's tag heard
    there for the last minute: the engine raises a FORBIDDEN_SECTOR and a DWELL_TIME event."""
    headers = world["headers"]
    for rule in (
        {
            "name": "Staff fora do GW",
            "rule_type": "FORBIDDEN_SECTOR",
            "group_id": world["group"],
            "device_id": world["gateway"],
        },
        {"name": "Demora", "rule_type": "DWELL_TIME", "max_dwell_seconds": 30},
        {"name": "Desligada", "rule_type": "DWELL_TIME", "is_active": False},
    ):
        await post(app_client, "/api/v1/alert-rules/", rule, headers)
    for second in range(60, -10, -10):
        await post(
            app_client,
            "/api/v1/collection-logs/",
            {
                "device_id": world["gateway"],
                "tag_id": world["tag"],
                "rssi": -60,
                "created_at": (NOW - timedelta(seconds=second)).isoformat(),
            },
            headers,
        )
    events = await get(app_client, world, f"/api/v1/alert-events/?person_id={world['person']}")
    assert sorted(e["event_type"] for e in events) == ["DWELL_TIME", "FORBIDDEN_SECTOR"]
    return world | {"events": events}


async def test_a_person_alert_report_reads_the_events_the_engine_raised(
    app_client: Client, alerted: dict[str, Any]
) -> None:
    base = f"/api/v1/reports/person/{alerted['person']}/alerts"
    report = await get(
        app_client, alerted, f"{base}?{window()}&min_duration_seconds=30&max_events=500"
    )
    started = sorted({e["started_at"] for e in alerted["events"]})
    assert report["total_alerts"] == 2
    assert (report["first_alert_at"], report["last_alert_at"]) == (started[0], started[-1])
    assert report["by_type"] == [
        {"event_type": "DWELL_TIME", "alerts_count": 1},
        {"event_type": "FORBIDDEN_SECTOR", "alerts_count": 1},
    ]
    assert report["by_device"] == [
        {"device_id": alerted["gateway"], "device_name": "GW", "alerts_count": 2}
    ]
    listed = {e["id"]: e for e in alerted["events"]}
    assert {e["id"] for e in report["events"]} == listed.keys()
    for event in report["events"]:
        same = listed[event["id"]]
        assert {k: same[k] for k in ("event_type", "started_at", "ended_at", "message")} == {
            k: event[k] for k in ("event_type", "started_at", "ended_at", "message")
        }
        assert (event["device_name"], event["is_open"]) == ("GW", True)
    capped = await get(app_client, alerted, f"{base}?max_events=1")  # the default 30 days
    assert (capped["total_alerts"], len(capped["events"])) == (2, 1)
    one_type = await get(app_client, alerted, f"{base}?event_type=FORBIDDEN_SECTOR")
    assert [e["event_type"] for e in one_type["events"]] == ["FORBIDDEN_SECTOR"]
    elsewhere = await get(app_client, alerted, f"{base}?device_id={alerted['gateway'] + 1}")
    assert (elsewhere["total_alerts"], elsewhere["by_device"]) == (0, [])
    before = f"from_ts={iso(NOW - timedelta(days=2))}&to_ts={iso(NOW - timedelta(hours=2))}"
    assert (await get(app_client, alerted, f"{base}?{before}"))["total_alerts"] == 0


async def test_alert_summaries_and_the_dashboard_count_the_events_the_engine_raised(
    app_client: Client, alerted: dict[str, Any]
) -> None:
    by_type = [
        {"event_type": "DWELL_TIME", "alerts_count": 1},
        {"event_type": "FORBIDDEN_SECTOR", "alerts_count": 1},
    ]
    gateway = await get(
        app_client, alerted, f"/api/v1/reports/gateways/{alerted['gateway']}/alerts/summary"
    )
    assert (gateway["scope"], gateway["total_alerts"], gateway["by_type"]) == (
        "gateway",
        2,
        by_type,
    )
    building = await get(
        app_client,
        alerted,
        f"/api/v1/reports/buildings/{alerted['building']}/alerts/summary?{window(1)}",
    )
    assert (building["scope"], building["total_alerts"], building["by_type"]) == (
        "building",
        2,
        by_type,
    )
    dashboard = await get(app_client, alerted, "/api/v1/dashboard/summary")
    assert (dashboard["active_alert_rules"], dashboard["recent_alerts_24h"]) == (2, 2)
    unknown = await app_client.get(
        "/api/v1/reports/gateways/999999/alerts/summary", headers=alerted["headers"]
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "device_not_found")

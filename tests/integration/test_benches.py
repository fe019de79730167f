"""bench/presence.py, bench/api_load.py and bench/ingest_floor.py run end to end in a tiny
configuration, so they never rot (the real runs are by hand: bench/README.md). No figure is
judged here, only that every step works and the answers hang together."""

import argparse
import asyncio
import json
from pathlib import Path

import psycopg
import pytest
from bench import api_load, ingest_floor, presence

pytestmark = pytest.mark.postgres


def test_the_presence_bench_loads_sessions_the_domain_rule_agrees_with_and_asks_both(
    postgres_server_url: str,
) -> None:
    plan = presence.Plan(readings=5000, tags=20, days=2, gateways=12, check_tags=20)
    with presence.fresh_database(postgres_server_url) as url:
        # Every tag's stored sessions are checked against domain.presence.sessionize.
        data = presence.load_dataset(url, plan)
        assert 4000 < data.readings < 6000
        assert 0 < data.sessions < data.readings
        assert data.positions == 20
        assert presence.stored_dataset(url).end == data.end
        answers = asyncio.run(presence.ask(data, plan.zone, repeat=2, view_repeat=1))
    assert [a.name for a in answers] == [
        "sessions of one tag, 24 h",
        "all sessions, last hour",
        "overview, 7 days",
        "positions/current",
        "person summary, 7 days",
    ]
    assert all(len(a.ours_ms) == 2 and len(a.view_ms) == 1 for a in answers)
    overview = answers[2]
    # Ours splits sessions at midnight, the VIEW does not: never fewer, and both see them.
    assert overview.ours_rows >= overview.view_rows > 0
    assert "| overview, 7 days |" in presence.report(plan, data, answers, 2)


def test_the_api_load_bench_polls_every_route_with_a_real_login_and_no_error(
    postgres_server_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "load.json"
    code = api_load.main(
        [
            "--database-url",
            postgres_server_url,
            "--readings",
            "5000",
            "--tags",
            "20",
            "--days",
            "2",
            "--events",
            "80",
            "--incidents",
            "20",
            "--messages",
            "400",
            "--consoles",
            "2",
            "--duration",
            "3",
            "--workers",
            "1",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    [step] = json.loads(out.read_text())["steps"]
    assert step["consoles"] == 2
    assert step["errors"] == 0, step["error_samples"]
    assert set(step["routes"]) == {
        "positions/by-device",
        "devices/status",
        "cameras/{id}/events",
        "incidents/my?limit=20",
        "incidents/my?limit=200",
        "incidents/{id}/messages?after_id",
    }


@pytest.mark.parametrize(("load", "bare"), [("site", False), ("worst", True)])
def test_the_ingest_floor_writes_a_row_per_reading_and_the_sessions_they_make(
    postgres_server_url: str, load: str, bare: bool
) -> None:
    args = argparse.Namespace(rate=300, tags=40, gateways=5, warm=1, seconds=2, bare=bare)
    with presence.fresh_database(postgres_server_url) as url:
        figures = ingest_floor.measure(args, url, load)
        with psycopg.connect(url) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM collection_logs),"
                " (SELECT count(*) FROM presence_sessions),"
                " (SELECT sum(samples_count) FROM presence_sessions),"
                " (SELECT count(*) FROM tag_positions),"
                " (SELECT count(*) FROM pg_indexes WHERE tablename = 'presence_sessions')"
            ).fetchone()
    readings = 300 * 3
    if load == "site":  # every (tag, gateway) opened once, then extended every second
        assert counts == (readings, 40 * 3, 40 * 3 * 4, 40, 7)
    else:  # a session per reading; only the primary key left
        assert counts == (readings, readings, readings, 40, 1)
    assert {name: len(values) for name, values in figures.items()} == {
        "readings": 2,
        "sessions": 2,
        "positions": 2,
    }

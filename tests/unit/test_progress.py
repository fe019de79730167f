"""Progress for long work: drawn for a person at a terminal, absent for scripts; the rollup
says each day as it goes."""

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from securityvision.application.rollup import DayRollup, RollUpPresence
from securityvision.entrypoints.progress import steps, timed
from tests.support.clock import FakeClock


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100), out


def test_steps_are_drawn_on_a_terminal_with_the_step_and_the_count() -> None:
    console, out = terminal()
    with steps("Migrating", 2, console=console) as bar:
        bar.advance("0001_identity")
        bar.advance("0002_rtls")
    drawn = out.getvalue()
    assert "Migrating" in drawn
    assert "2/2" in drawn


def test_a_total_learnt_on_the_way_is_shown() -> None:
    console, out = terminal()
    with steps("Rolling up days", None, console=console) as bar:
        bar.advance("2026-11-01", total=3)
    assert "1/3" in out.getvalue()


def test_a_timed_bar_is_drawn_with_its_note() -> None:
    console, out = terminal()
    with timed("Publishing", 10.0, console=console) as bar:
        bar.note("20 messages")
    drawn = out.getvalue()
    assert "Publishing" in drawn
    assert "20 messages" in drawn


def test_nothing_is_drawn_when_asked_not_to_or_when_nobody_watches(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console, out = terminal()
    with steps("Migrating", 1, show=False, console=console) as bar:
        bar.advance("0001_identity")
    with timed("Publishing", None, show=False, console=console) as ticking:
        ticking.note("x")
    assert out.getvalue() == ""
    # Under pytest stderr is no terminal: like a script's pipe.
    with steps("Migrating", 1) as unseen:
        unseen.advance("0001_identity")
    assert capsys.readouterr() == ("", "")


class ThreeDays:
    """A rollup store with three days to roll up."""

    def __init__(self) -> None:
        self.days = [date(2026, 11, d) for d in (1, 2, 3)]

    async def days_with_presence(self, before: date) -> Sequence[date]:
        return [d for d in self.days if d < before]

    async def roll_up_day(
        self, day: date, start: datetime, end: datetime, zone_name: str, *, dry_run: bool
    ) -> DayRollup:
        return DayRollup(day=day, sessions=day.day, readings=10 * day.day)


async def test_the_rollup_tells_each_day_as_it_is_done_with_how_many_there_are() -> None:
    clock = FakeClock(datetime(2026, 11, 29, tzinfo=UTC))
    told: list[tuple[date, int]] = []
    done = await RollUpPresence(ThreeDays(), clock, zone=UTC, zone_name="UTC").execute(
        7, on_day=lambda day, total: told.append((day.day, total))
    )
    assert told == [(d.day, 3) for d in done]
    assert [d.day for d in done] == [date(2026, 11, d) for d in (1, 2, 3)]

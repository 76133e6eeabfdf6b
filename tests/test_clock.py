"""The one clock (``bestby.clock``): frozen in tests, set by BESTBY_NOW for a process, used everywhere."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bestby import clock
from bestby.config import ConfigError, load

SRC = Path(__file__).resolve().parents[1] / "src" / "bestby"
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_unfrozen_it_is_the_real_time_in_utc(monkeypatch):
    monkeypatch.delenv("BESTBY_NOW", raising=False)
    before = datetime.now(UTC)
    got = clock.now()
    after = datetime.now(UTC)
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert before <= got <= after


def test_frozen_blocks_nest_and_end(monkeypatch):
    monkeypatch.delenv("BESTBY_NOW", raising=False)
    berlin = timezone(timedelta(hours=1))
    with clock.frozen(datetime(2026, 3, 2, 10, 0, tzinfo=berlin)) as at:
        assert at == MONDAY and clock.now() == MONDAY and clock.now().tzinfo == UTC
        with clock.frozen(date(2027, 12, 31)):
            assert clock.now() == datetime(2027, 12, 31, tzinfo=UTC)
            assert clock.today() == date(2027, 12, 31)
            assert clock.today(timezone(timedelta(hours=-5))) == date(2027, 12, 30)
        assert clock.now() == MONDAY
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_frozen_clock_is_seen_by_other_threads(frozen_clock):
    frozen_clock(MONDAY)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(clock.now()))
    worker.start()
    worker.join()
    assert seen == [MONDAY]


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        with clock.frozen(datetime(2026, 3, 2, 9)):
            pass


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-15T09:00:00Z", datetime(2026, 1, 15, 9, tzinfo=UTC)),
    ("2026-01-15T10:00:00+01:00", datetime(2026, 1, 15, 9, tzinfo=UTC)),
    ("2026-01-15", datetime(2026, 1, 15, tzinfo=UTC)),
    (" 2026-12-31T23:59:59-05:00 ", datetime(2027, 1, 1, 4, 59, 59, tzinfo=UTC)),
])
def test_bestby_now_sets_the_process_clock(monkeypatch, text, expected):
    monkeypatch.setenv("BESTBY_NOW", text)
    assert clock.now() == expected
    assert load({"BESTBY_NOW": text}).time_zone == "UTC"  # accepted by the configuration too


def test_a_frozen_block_wins_over_bestby_now(monkeypatch, frozen_clock):
    monkeypatch.setenv("BESTBY_NOW", "2026-01-15T09:00:00Z")
    frozen_clock(MONDAY)
    assert clock.now() == MONDAY


@pytest.mark.parametrize(("text", "needle"), [
    ("yesterday", "is not an ISO 8601 instant"),
    ("2026-01-15T09:00:00", "has no UTC offset"),
    ("2026-02-30", "is not an ISO 8601 instant"),
])
def test_a_bad_bestby_now_is_a_configuration_error_naming_it(text, needle):
    with pytest.raises(ConfigError) as exc:
        load({"BESTBY_NOW": text})
    assert str(exc.value).startswith(f"BESTBY_NOW={text!r}") and needle in str(exc.value)


def test_wall_is_never_frozen(frozen_clock):
    frozen_clock(MONDAY)
    assert abs(clock.wall() - datetime.now(UTC)) < timedelta(seconds=5)


def test_nothing_else_in_the_source_reads_the_time_of_day():
    """Every "now" goes through bestby.clock (its docstring lists the real-time exceptions, which do not use these)."""
    pattern = re.compile(r"datetime\.now\(|timezone\.now\(|date\.today\(|datetime\.utcnow\(|datetime\.today\(")
    found = []
    for path in SRC.rglob("*.py"):
        if path.name == "clock.py" and path.parent == SRC or "migrations" in path.parts:
            continue
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line.split("#")[0]):
                found.append(f"{path.relative_to(SRC)}:{k}: {line.strip()}")
    assert found == []


def test_the_clock_module_imports_no_django():
    code = "import sys, bestby.clock; print(sorted(m for m in sys.modules if m.startswith('django')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.django_db
def test_services_write_at_the_frozen_instant(frozen_clock):
    from bestby.audit.models import AuditEntry
    from bestby.pipeline import services
    from bestby.pipeline.models import Pipeline, Stage

    frozen_clock(MONDAY)
    pipeline = Pipeline.objects.create(name="p")
    qualify = Stage.objects.create(pipeline=pipeline, name="Qualify", position=1, kind="open")
    proposal = Stage.objects.create(pipeline=pipeline, name="Proposal", position=2, kind="open")
    deal = services.create_deal(external_id="d1", pipeline=pipeline, stage=qualify)
    frozen_clock(MONDAY + timedelta(days=3))
    services.move_deal(deal=deal, to_stage=proposal)
    assert deal.created_at == MONDAY
    assert [e.at for e in deal.stage_events.order_by("at")] == [MONDAY, MONDAY + timedelta(days=3)]
    assert sorted(AuditEntry.objects.values_list("at", flat=True)) == [MONDAY, MONDAY + timedelta(days=3)]


@pytest.mark.django_db(transaction=True)
def test_the_command_line_takes_its_day_from_bestby_now(monkeypatch):
    """`bestby today` with no --as-of shows the seller's day of BESTBY_NOW (a Saturday in Berlin, Friday in UTC)."""
    from bestby.cli import app
    from bestby.people.models import User

    User.objects.create(username="rita", email="rita@example.com", external_id="u-rita", role="rep",
                        time_zone="Europe/Berlin")
    monkeypatch.setenv("BESTBY_NOW", "2027-12-31T23:30:00Z")
    result = CliRunner().invoke(app, ["today", "--user", "rita@example.com", "--json"])
    assert result.exit_code == 0, result.output
    assert '"day": "2028-01-01"' in result.stdout

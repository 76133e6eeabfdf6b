"""Clearing never loses anything: any clears, snoozes and undos, then undo of all, give back the original data.

Each Hypothesis example builds its deals inside a transaction that is rolled
back at its end, so the examples do not see each other (on both backends).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bestby.activities.models import Lead
from bestby.clearance import services as cs
from bestby.clearance.models import ClearanceAction
from bestby.pipeline.models import CloseDateEvent
from tests.clearance.helpers import build, deal_rows, dump, visible_events

pytestmark = pytest.mark.django_db

DEALS = ["D1", "D2", "D3", "D4"]  # D3 is won: clears and snoozes of it are refused
START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("clear"), st.lists(st.sampled_from(DEALS), min_size=1, max_size=3),
                  st.sampled_from(["lost", "nurture"])),
        st.tuples(st.just("snooze"), st.sampled_from(DEALS), st.integers(min_value=1, max_value=40)),
        st.tuples(st.just("undo"), st.integers(min_value=0, max_value=30)),
    ),
    max_size=12,
)


def _original() -> dict:
    return {"deals": deal_rows(), "leads": list(Lead.objects.order_by("pk").values()), "events": visible_events(),
            "close_dates": list(CloseDateEvent.objects.order_by("pk").values())}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_any_sequence_then_undo_of_all_restores_the_original(steps):
    with transaction.atomic():
        build()
        original = _original()
        at = START
        for step in steps:
            at += timedelta(minutes=1)  # a stage change cannot be dated before the last one
            before = dump()
            try:
                if step[0] == "clear":
                    cs.clear(deals=step[1], reason="stale", to=step[2], at=at)
                elif step[0] == "snooze":
                    cs.snooze(deal=step[1], until=at.date() + timedelta(days=step[2]), reason="later", at=at)
                else:
                    actions = list(ClearanceAction.objects.order_by("pk"))
                    if not actions:
                        continue
                    cs.undo(action=actions[step[1] % len(actions)], reason="oops", at=at)
            except cs.ClearanceError:
                assert dump() == before  # a refusal changes nothing
        pending = ClearanceAction.objects.exclude(kind="undo").filter(undone_by__isnull=True).order_by("-pk")
        for action in list(pending):
            at += timedelta(minutes=1)
            cs.undo(action=action, at=at)
        assert _original() == original
        assert cs.active_snoozes(START.date()) == {}
        transaction.set_rollback(True)

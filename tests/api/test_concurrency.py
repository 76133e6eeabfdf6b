"""Two edits of the same deal based on the same version, at the same time: one wins, the other gets 409, nothing lost.

Committed data and real threads (``transaction=True``): each thread has its
own database connection, as two web workers would. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from bestby.audit.models import AuditEntry
from bestby.pipeline.models import Deal
from tests.api.conftest import make_world

pytestmark = pytest.mark.django_db(transaction=True)


def _race(clients_and_bodies, url):
    barrier = threading.Barrier(len(clients_and_bodies))
    results = [None] * len(clients_and_bodies)

    def run(i, client, body):
        try:
            barrier.wait(timeout=10)
            response = client.patch(url, body)
            results[i] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c, b)) for i, (c, b) in enumerate(clients_and_bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_concurrent_edits_one_refused_no_lost_update():
    world = make_world()
    rep, mgr = world["api"]["rep"], world["api"]["mgr"]
    for round_ in range(3):
        start = Deal.objects.get(external_id="D1")
        bodies = [(rep, {"version": start.version, "name": f"rep {round_}", "amount": "111"}),
                  (mgr, {"version": start.version, "name": f"mgr {round_}", "close_date": "2026-01-31",
                         "confirm_past_close_date": True})]
        results = _race(bodies, "/api/deals/D1")
        codes = sorted(code for code, _ in results)
        assert codes == [200, 409], results
        winner = next(i for i, (code, _) in enumerate(results) if code == 200)
        loser = results[1 - winner][1]
        assert loser["field"] == "version" and "version" in loser["detail"]
        final = Deal.objects.get(external_id="D1")
        assert final.name == bodies[winner][1]["name"]
        assert final.version == results[winner][1]["version"] > start.version
        if winner == 0:  # the rep's change, whole; nothing of the manager's
            assert str(final.amount) == "111.00" and final.close_date == start.close_date
        else:
            assert final.close_date.isoformat() == "2026-01-31" and final.amount == start.amount
        # the loser wrote nothing: every audit entry since the start is the winner's
        by = {e.by.external_id for e in AuditEntry.objects.filter(object_id="D1", at__gt=start.created_at)
              .exclude(action__in=["deal.create", "deal.move"]).filter(after__version__gt=start.version)}
        assert by == {("rita", "max")[winner]}

"""The sample workspace behind `bestby demo` (and `make demo`).

The package generates its sample data with ``bestby.synth`` (nothing is
downloaded and ``../shared`` is not needed), imports it, and prepares three
sign-ins: ``admin`` (admin), one manager and one rep of the synthetic team.
The demo password comes from ``BESTBY_DEMO_PASSWORD``; when that is not set,
one is generated on first run and kept in ``$BESTBY_HOME/demo_password``
(mode 0600), so it is never in the repository. Running it again is safe: the
data set is regenerated only if missing and the import is idempotent.

Its day is the clock's (:mod:`bestby.clock`): the synthetic data ends at
midnight UTC of ``clock.now()``'s date, freshness is computed as of
``clock.now()``, and the demo rep's cadences start three days before their
own today. ``BESTBY_NOW=2026-01-15T09:00:00Z bestby demo`` sets up the same
workspace on any machine on any day (``tests/test_demo.py`` runs it on a
Monday and on a Saturday at a year end).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from bestby import clock
from bestby.importers.canonical import import_canonical
from bestby.people.models import Role, User
from bestby.private import private_dir
from bestby.synth import write_synth

DEMO_SEED = 7


def demo_password(home: Path | None = None) -> str:
    """The demo sign-ins' password (see module doc)."""
    if os.environ.get("BESTBY_DEMO_PASSWORD"):
        return os.environ["BESTBY_DEMO_PASSWORD"]
    home = home or settings.CONFIG.home
    path = home / "demo_password"
    if path.exists():
        return path.read_text().strip()
    private_dir(home, tighten=False)
    password = "demo-" + secrets.token_urlsafe(9)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    return password


@dataclass
class DemoInfo:
    summary: str
    admin_login: str
    manager_login: str
    rep_login: str
    password: str


def prepare_demo(*, deals: int = 2_000, progress=None, home: Path | None = None) -> DemoInfo:
    """Generate (if needed) and import the sample workspace, and set up its sign-ins."""
    home = home or settings.CONFIG.home
    now = clock.now()
    data = home / ".bestby" / f"demo-data-{deals}"
    private_dir(home / ".bestby")  # 0700, as the data folder below: the sample data is nobody else's to read
    private_dir(data)
    if not (data / "deals.csv").exists():
        today = datetime.combine(now.date(), time(), tzinfo=UTC)
        write_synth(data, deals=deals, seed=DEMO_SEED, as_of=today, progress=progress)
    report = import_canonical(data, progress=progress)
    from bestby.clearance.settings import stored_policy
    from bestby.clearance.snapshot import refresh

    fresh = refresh(as_of=now, policy=stored_policy())  # the board and the clearance review read this cache
    password = demo_password(home)
    with transaction.atomic():
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            admin = User(username="admin", external_id="admin", name="Demo admin", role=Role.ADMIN)
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        manager = User.objects.filter(role=Role.MANAGER).exclude(username="admin").order_by("external_id").first()
        rep = User.objects.filter(role=Role.REP, manager=manager).order_by("external_id").first() if manager else None
        for user in (manager, rep):
            if user is not None:
                user.set_password(password)
                user.save(update_fields=["password"])
    enrolled = _demo_cadences(rep, now)
    created = sum(c.created for c in report.files.values())
    deals_total = report.files.get("deals")
    summary = (
        f"Sample workspace ready in {home}: {deals_total.total if deals_total else 0:,} deals "
        f"({created:,} rows new in this run); freshness of {fresh:,} open deals computed"
        + (f"; {enrolled} of the demo rep's leads enrolled in the default cadence (see Today)." if enrolled else ".")
    )
    return DemoInfo(summary, admin.username, manager.username if manager else "", rep.username if rep else "", password)


#: leads of the demo rep put in the default cadence, started this many calendar days ago, so that the
#: Today page opens with overdue, due and coming tasks (a week of work, not a wall of it)
DEMO_ENROLMENTS = 6
DEMO_STARTED_DAYS_AGO = 3


def _demo_cadences(rep, now: datetime) -> int:
    """Enrol a few of the demo rep's live leads once (a second demo run enrols nobody); return how many."""
    if rep is None:
        return 0
    from datetime import timedelta

    from bestby.activities.models import Lead
    from bestby.cadences import services
    from bestby.cadences.models import Enrollment

    if Enrollment.objects.filter(owner=rep).exists():
        return 0
    leads = list(Lead.objects.filter(owner=rep, status__in=("new", "nurture")).order_by("external_id")
                 [:DEMO_ENROLMENTS])
    if not leads:
        return 0
    start = now.astimezone(rep.zone()).date() - timedelta(days=DEMO_STARTED_DAYS_AGO)
    return len(services.enrol(leads=leads, start=start, now=now))

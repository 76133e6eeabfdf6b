"""A small store worked through the cadence services, with its adherence figures worked out by hand.

Germany's calendar (no public holiday in March 2026). The default cadence enrolled on Monday 2 March is
due 2, 2, 3, 5, 10 and 13 March; enrolled on Monday 9 March: 9, 9, 10, 12, 17 and 20 March.

* rita (rep, North, Berlin), lead R1: steps 1-3 done on time (2, 2, 3 March); the buyer replies on the 4th
  (steps 4-6 cancelled). Run: 3 attempts, engaged right after touch 3.
  Lead R2: steps 1, 2 done on the 2nd, step 3 skipped on the 3rd, step 4 (due 5th) done late on Monday 9th:
  2 business days late, so steps 5 and 6 move from 10 and 13 to 12 and 17 March and stay open. A like on the
  18th. Run: attempts 2, 2, 9 March (5 business days apart: one run), stopped after 3: abandoned.
* rob (rep, North, Los Angeles), lead B1: steps 1 and 2 done at 06:00 and 06:10 UTC on 3 March, which is
  still 2 March in Los Angeles (on time); step 3 done on 3 March with a meeting booked (steps 4-6
  cancelled). Run: 3 attempts, engaged right after touch 3 with a meeting. Lead B2, enrolled on 9 March,
  never worked.
* sam (rep, South, Berlin), lead S1: step 1 done on 2 March, steps 2-6 open. Run: 1 attempt, stopped.
* mia: manager of team North; ada: admin. Neither has a task.

As of the date 20 March, period 1-31 March (every instant on 20 March is past the last touch):

=========  ====  =======  ====  =======  =======  =========  =====  =======  =======  =========
who        due   on time  late  skipped  overdue  due today  leads  engaged  stopped  abandoned
=========  ====  =======  ====  =======  =======  =========  =====  =======  =======  =========
rita       9     5        1     1        2        0          2      1        1        1
rob        9     3        0     0        5        1          1      1        0        0
sam        6     1        0     0        5        0          1      0        1        1
North      18    8        1     1        7        1          3      2        1        1
South      6     1        0     0        5        0          1      0        1        1
all        24    9        1     1        12       1          4      2        2        2
=========  ====  =======  ====  =======  =======  =========  =====  =======  =======  =========

rita: R1 3 on time + R2 2 on time, R2 step 4 late, step 3 skipped, steps 5 (12th) and 6 (17th) overdue.
rob: B1 3 on time; B2's steps due 9, 9, 10, 12, 17 overdue, 20 due today. sam: 1 on time, 5 overdue.
By touch number (everyone): touch 1 reached by 4 runs; touches 2 and 3 by R1, R2, B1 (3); after touch 3
R1 and B1 engaged (2 of 3), B1 with a meeting (1 of 3).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from bestby.activities.models import Lead
from bestby.cadences import services
from bestby.people.models import User

UTC = timezone.utc
D = date
EXPECTED = {  # (level, key): (due, on_time, late, skipped, overdue, due_today, leads, engaged, stopped, abandoned)
    ("owner", "u-rita"): (9, 5, 1, 1, 2, 0, 2, 1, 1, 1),
    ("owner", "u-rob"): (9, 3, 0, 0, 5, 1, 1, 1, 0, 0),
    ("owner", "u-sam"): (6, 1, 0, 0, 5, 0, 1, 0, 1, 1),
    ("team", "North"): (18, 8, 1, 1, 7, 1, 3, 2, 1, 1),
    ("team", "South"): (6, 1, 0, 0, 5, 0, 1, 0, 1, 1),
    ("all", "all"): (24, 9, 1, 1, 12, 1, 4, 2, 2, 2),
}
FIELDS = ("due", "on_time", "late", "skipped", "overdue", "due_today", "leads", "engaged", "stopped", "abandoned")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _user(key, role, team, zone, manager=None):
    return User.objects.create(username=key, email=f"{key}@example.com", external_id=f"u-{key}", name=key.title(),
                               role=role, team=team, time_zone=zone, manager=manager)


def _steps(enrollment):
    return {t.position: t.pk for t in enrollment.tasks.all()}


def build() -> dict:
    """The store of the module doc; returns the users by first name."""
    mia = _user("mia", "manager", "North", "Europe/Berlin")
    users = {"mia": mia, "ada": _user("ada", "admin", "", "Europe/Berlin"),
             "rita": _user("rita", "rep", "North", "Europe/Berlin", mia),
             "rob": _user("rob", "rep", "North", "America/Los_Angeles", mia),
             "sam": _user("sam", "rep", "South", "Europe/Berlin")}
    lead = {key: Lead.objects.create(external_id=key, name=key, owner=users[who], status="new")
            for key, who in (("R1", "rita"), ("R2", "rita"), ("B1", "rob"), ("B2", "rob"), ("S1", "sam"))}
    r1, r2, b1, s1 = services.enrol(leads=[lead["R1"], lead["R2"], lead["B1"], lead["S1"]], start=D(2026, 3, 2))
    services.enrol(leads=[lead["B2"]], start=D(2026, 3, 9))

    t = _steps(r1)
    services.complete(t[1], outcome="no_answer", at=at(2, 9))
    services.complete(t[2], at=at(2, 9, 5))
    services.complete(t[3], outcome="voicemail_left", at=at(3, 10))
    services.buyer_engaged(t[4], outcome="replied", channel="email", at=at(4, 12))

    t = _steps(r2)
    services.complete(t[1], outcome="no_answer", at=at(2, 11))
    services.complete(t[2], at=at(2, 11, 5))
    services.skip(t[3], reason="no time", at=at(3, 11))
    services.complete(t[4], outcome="no_answer", at=at(9, 10))     # due 5 March: late
    services.record_social(lead=lead["R2"], owner=users["rita"], at=at(18, 10))

    t = _steps(b1)
    services.complete(t[1], outcome="no_answer", at=at(3, 6))      # 2 March, 22:00 in Los Angeles
    services.complete(t[2], at=at(3, 6, 10))
    services.complete(t[3], outcome="meeting_booked", at=at(3, 18))

    services.complete(_steps(s1)[1], outcome="no_answer", at=at(2, 9))
    return users


def figures(row: dict) -> tuple:
    return tuple(row[f] for f in FIELDS)

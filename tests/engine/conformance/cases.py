"""The conformance cases: hand-made FORMAT.md folders (and synth data) with the as-of points to check.

Each case writes one CSV folder that both the engine's folder source and the
canonical importer (the store) accept. The edge folders use whole timestamps
so that the boundaries they aim at are exact. Points are grouped by case (the
store imports a case once for all its points).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.importers.folders import write_folder


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


USERS = ["user_id", "name", "email", "role", "manager_id", "team", "territory"]
STAGES = ["pipeline", "stage", "position", "kind", "probability"]
DEALS = ["deal_id", "pipeline", "owner_id", "amount", "created_at", "stage", "status", "closed_at", "close_date",
         "lost_reason"]
EVENTS = ["deal_id", "at", "to_stage", "from_stage"]
CDE = ["deal_id", "at", "new_close_date", "old_close_date"]
TOUCHES = ["touch_id", "at", "channel", "deal_id"]


def _users(folder: Path) -> None:
    write_csv(folder / "users.csv", USERS, [["u1", "Una", "", "rep", "", "", ""], ["u2", "Ugo", "", "rep", "", "", ""]])


# ---------------------------------------------------------------- edges: moves, ties, no events, pushes, closes at as_of

EDGE_STAGES = [
    ["default", "Qualify", 1, "open", ""], ["default", "1st meeting", 2, "open", ""],
    ["default", "Proof", 3, "open", ""], ["default", "2nd meeting", 4, "open", ""],
    ["default", "Proposal", 5, "open", ""], ["default", "Won", 6, "won", ""], ["default", "Lost", 7, "lost", ""],
    ["renewals", "Review", 1, "open", ""], ["renewals", "Signed", 2, "won", ""], ["renewals", "Dropped", 3, "lost", ""],
]
EDGE_DEALS = [
    # B1 moves back (Proof -> 1st meeting) and is won exactly at the first as_of (02-01)
    ["B1", "default", "u1", "10000", "2024-01-01", "Won", "won", "2024-02-01", "2024-02-01", ""],
    # B2 enters Qualify and 1st meeting at the same instant (the file lists the higher position first)
    ["B2", "default", "u1", "5000", "2024-01-03T00:00:00", "Proposal", "open", "", "2024-04-30", ""],
    # B3 has no stage event and only social touches; its close date is given (no close-date event)
    ["B3", "default", "u2", "2000", "2024-01-10", "Qualify", "open", "", "2024-03-31", ""],
    # B4 is lost exactly at the second as_of (02-15 12:00)
    ["B4", "default", "u2", "7000", "2024-01-05", "Lost", "lost", "2024-02-15T12:00:00", "2024-02-15", "price"],
    # B5 pushes, pulls in and pushes again its close date; a meeting touch exactly one day after the first meeting
    ["B5", "default", "u1", "9000", "2024-01-05", "1st meeting", "open", "", "2024-03-15", ""],
    # B6 last real touch exactly 90 days before the last as_of (01-21 -> 04-20)
    ["B6", "default", "u2", "1500", "2024-01-02", "Qualify", "open", "", "", ""],
    # B7 a meeting touch a second more than a day after the first meeting: a second meeting
    ["B7", "default", "u1", "", "2024-01-02", "1st meeting", "open", "", "", ""],
    # B8 won after the two first as_ofs: open in Qualify then
    ["B8", "default", "u2", "3000", "2024-01-10", "Won", "won", "2024-03-01", "2024-03-01", ""],
    # R1 another pipeline with no won deal: no cycle row, no stage shelf life, never touched
    ["R1", "renewals", "u1", "800", "2024-01-15", "Review", "open", "", "", ""],
]
EDGE_EVENTS = [
    ["B1", "2024-01-01", "Qualify", ""], ["B1", "2024-01-05", "Proof", "Qualify"],
    ["B1", "2024-01-10", "1st meeting", "Proof"], ["B1", "2024-01-20", "Proof", "1st meeting"],
    ["B1", "2024-02-01", "Won", "Proof"],
    ["B2", "2024-01-03T00:00:00", "1st meeting", "Qualify"], ["B2", "2024-01-03T00:00:00", "Qualify", ""],
    ["B2", "2024-01-13", "Proposal", "1st meeting"],
    ["B4", "2024-01-05", "Qualify", ""], ["B4", "2024-02-15T12:00:00", "Lost", "Qualify"],
    ["B5", "2024-01-05", "Qualify", ""], ["B5", "2024-01-08T10:00:00", "1st meeting", "Qualify"],
    ["B6", "2024-01-02", "Qualify", ""],
    ["B7", "2024-01-02", "Qualify", ""], ["B7", "2024-01-04", "1st meeting", "Qualify"],
    ["B8", "2024-01-10", "Qualify", ""], ["B8", "2024-03-01", "Won", "Qualify"],
    ["R1", "2024-01-15", "Review", ""],
]
EDGE_CDE = [
    ["B1", "2024-01-01", "2024-01-31", ""], ["B1", "2024-01-25", "2024-02-01", "2024-01-31"],
    ["B5", "2024-01-05", "2024-02-01", ""],             # first setting: not a push
    ["B5", "2024-01-20", "2024-02-15", "2024-02-01"],   # push 1
    ["B5", "2024-01-25", "2024-02-10", "2024-02-15"],   # pull-in: not a push
    ["B5", "2024-02-05", "2024-02-29", "2024-02-10"],   # push 2, onto a month end: parked
    ["B5", "2024-02-20", "2024-03-15", "2024-02-29"],   # push 3
    ["B8", "2024-01-10", "2024-02-29", ""], ["B8", "2024-03-01", "2024-03-01", "2024-02-29"],  # a pull-in at the win
    # B2: two pushes in earlier stages, one at the very instant it entered Proposal (counts), onto a month end
    ["B2", "2024-01-03T00:00:00", "2024-01-31", ""], ["B2", "2024-01-05", "2024-02-10", "2024-01-31"],
    ["B2", "2024-01-10", "2024-02-20", "2024-02-10"], ["B2", "2024-01-13", "2024-04-30", "2024-02-20"],
]
EDGE_TOUCHES = [
    ["e1", "2024-01-03T09:00:00", "meeting", "B2"], ["e2", "2024-01-12", "email", "B2"],
    ["e3", "2024-01-15", "social", "B3"], ["e4", "2024-03-01", "social", "B3"],
    ["e5", "2024-01-08T10:00:00", "meeting", "B5"], ["e6", "2024-01-09T10:00:00", "meeting", "B5"],
    ["e7", "2024-02-14", "phone", "B5"],
    ["e8", "2024-01-21", "phone", "B6"], ["e9", "2024-04-01", "social", "B6"],
    ["e10", "2024-01-04", "meeting", "B7"], ["e11", "2024-01-05T00:00:01", "meeting", "B7"],
    ["e12", "2024-04-20", "email", "B7"],                # exactly at the last as_of: visible, 0 days
    ["e13", "2024-02-01", "phone", "B1"], ["e14", "2024-02-20", "phone", ""],  # not linked to a deal
    ["e15", "2024-02-10", "email", "B8"],
]


def write_edges(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _users(folder)
    write_csv(folder / "stages.csv", STAGES, EDGE_STAGES)
    write_csv(folder / "deals.csv", DEALS, EDGE_DEALS)
    write_csv(folder / "stage_events.csv", EVENTS, EDGE_EVENTS)
    write_csv(folder / "close_date_events.csv", CDE, EDGE_CDE)
    write_csv(folder / "touches.csv", TOUCHES, EDGE_TOUCHES)
    return folder


# ---------------------------------------------------------------- derived stages (no stages file, two pipelines)

def write_derived(folder: Path) -> Path:
    """No stages file: stages by first appearance (Closed Won is seen before Demo), kinds from the deals."""
    folder.mkdir(parents=True, exist_ok=True)
    _users(folder)
    write_csv(folder / "deals.csv", DEALS, [
        ["X1", "", "u1", "1000", "2024-01-01", "Closed Won", "won", "2024-01-10", "", ""],
        ["X2", "", "u1", "2000", "2024-01-02", "Closed Lost", "lost", "2024-01-20", "", "timing"],
        ["X3", "", "u2", "3000", "2024-01-03", "Demo", "open", "", "2024-01-31", ""],
        ["X4", "renewals", "u2", "4000", "2024-01-04", "Review", "open", "", "", ""],
        ["X5", "", "u1", "5000", "2024-01-05", "Closed Won", "won", "2024-01-15", "", ""],
    ])
    write_csv(folder / "stage_events.csv", EVENTS, [
        ["X1", "2024-01-01", "Lead", ""], ["X1", "2024-01-10", "Closed Won", "Lead"],
        ["X2", "2024-01-02", "Lead", ""], ["X2", "2024-01-05", "Demo", "Lead"],
        ["X2", "2024-01-20", "Closed Lost", "Demo"],
        ["X3", "2024-01-03", "Lead", ""], ["X3", "2024-01-06", "Demo", "Lead"],
        ["X4", "2024-01-04", "Review", ""],
        ["X5", "2024-01-05", "Lead", ""], ["X5", "2024-01-08", "Demo", "Lead"], ["X5", "2024-01-15", "Closed Won", "Demo"],
    ])
    write_csv(folder / "touches.csv", TOUCHES, [["x1", "2024-01-07", "phone", "X3"], ["x2", "2024-01-08", "social", "X4"]])
    return folder


# ---------------------------------------------------------------- a stage shelf life under one day (staleness)

def write_tiny_shelf(folder: Path) -> Path:
    """Qualify's shelf life is 0.45 days (visits of 0.5 and 0.25 days); the cycle's is 91 days.

    At 04-10 19:12, C2 (moved back to Qualify at 00:00, never touched since its
    creation 40.8 days ago: idle) is 0.8 days in Qualify: expired, staleness
    0.8 / 0.45 = 1.78. C3 is stalled (two pushes in Proposal) well inside its
    best-by: staleness about 0.02, weight 1200.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _users(folder)
    write_csv(folder / "stages.csv", STAGES, [["default", "Qualify", 1, "open", ""], ["default", "Proposal", 2, "open", ""],
                                              ["default", "Won", 3, "won", ""], ["default", "Lost", 4, "lost", ""]])
    write_csv(folder / "deals.csv", DEALS, [
        ["C1", "default", "u1", "100", "2024-01-01", "Won", "won", "2024-04-01", "", ""],
        ["C2", "default", "u1", "1000", "2024-03-01", "Qualify", "open", "", "", ""],
        ["C3", "default", "u2", "1200", "2024-04-09", "Proposal", "open", "", "2024-04-29", ""],
    ])
    write_csv(folder / "stage_events.csv", EVENTS, [
        ["C1", "2024-01-01", "Qualify", ""], ["C1", "2024-01-01T12:00:00", "Proposal", "Qualify"],
        ["C1", "2024-04-01", "Won", "Proposal"],
        ["C2", "2024-03-01", "Proposal", ""], ["C2", "2024-04-10", "Qualify", "Proposal"],
        ["C3", "2024-04-09", "Qualify", ""], ["C3", "2024-04-09T06:00:00", "Proposal", "Qualify"],
    ])
    write_csv(folder / "close_date_events.csv", CDE, [
        ["C3", "2024-04-09", "2024-04-20", ""], ["C3", "2024-04-09T06:00:00", "2024-04-25", "2024-04-20"],
        ["C3", "2024-04-09T07:00:00", "2024-04-29", "2024-04-25"],
    ])
    write_csv(folder / "touches.csv", TOUCHES, [["c1", "2024-04-10T11:00:00", "phone", "C3"]])
    return folder


# ---------------------------------------------------------------- a close date first set after as_of

def write_late_close_date(folder: Path) -> Path:
    """D1's expected close date is first set on 02-01; at 01-15 nothing says what it was."""
    folder.mkdir(parents=True, exist_ok=True)
    _users(folder)
    write_csv(folder / "stages.csv", STAGES, [["default", "Qualify", 1, "open", ""], ["default", "Won", 2, "won", ""],
                                              ["default", "Lost", 3, "lost", ""]])
    write_csv(folder / "deals.csv", DEALS, [
        ["D1", "default", "u1", "1000", "2024-01-01", "Qualify", "open", "", "2024-06-30", ""],
        ["D2", "default", "u1", "2000", "2024-01-01", "Qualify", "open", "", "2024-01-10", ""],  # no event: as given
    ])
    write_csv(folder / "stage_events.csv", EVENTS, [["D1", "2024-01-01", "Qualify", ""], ["D2", "2024-01-01", "Qualify", ""]])
    write_csv(folder / "close_date_events.csv", CDE, [
        ["D1", "2024-02-01", "2024-05-31", ""], ["D1", "2024-03-01", "2024-06-30", "2024-05-31"],
    ])
    write_csv(folder / "touches.csv", TOUCHES, [["d1", "2024-01-05", "phone", "D1"]])
    return folder


# ---------------------------------------------------------------- the win model: stage fit, fallback, none, ties

WIN_AS_OF = datetime(2024, 7, 1, tzinfo=UTC)


def _day(d: date, n: int = 0) -> str:
    return (d + timedelta(days=n)).isoformat()


def write_win(folder: Path) -> Path:
    """Enough closed deals for a win model in ``default`` (24), too few in ``renewals`` (3) and in Proposal (5).

    W01..W24 (i = 1..24): created 01-01 + i days, enter Qualify i % 2 days later, close 20 + 5 (i % 7) days
    after creation, lost when i % 3 == 0. Ties: won and lost deals at 35 days on the deal clock (W03, W10) and
    at 34 days on the Qualify clock (W03, W17). W01..W05 enter Proposal on day 10. W25 is won after as_of
    (open then). At 07-01: O1 has sat exactly 34 days in Qualify (censored at an event time: still at risk),
    O2 is in Proposal (5 closed deals: the pipeline's fit, at its age of exactly 30 days, an event time),
    O3 is the oldest deal on the Qualify clock (beyond the data: 0, low win probability although touched),
    O4 was created at as_of (age 0), O5 has no stage event, O6 sits in Demo that nobody entered (pipeline fit);
    R4's pipeline has 3 closed deals: no model.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _users(folder)
    write_csv(folder / "stages.csv", STAGES, [
        ["default", "Qualify", 1, "open", ""], ["default", "Demo", 2, "open", ""], ["default", "Proposal", 3, "open", ""],
        ["default", "Won", 4, "won", ""], ["default", "Lost", 5, "lost", ""],
        ["renewals", "Review", 1, "open", ""], ["renewals", "Signed", 2, "won", ""], ["renewals", "Dropped", 3, "lost", ""],
    ])
    deals, events, touches = [], [], []
    start = date(2024, 1, 1)
    for i in range(1, 25):
        deal_id, lost = f"W{i:02d}", i % 3 == 0
        created, closed = _day(start, i), _day(start, i + 20 + 5 * (i % 7))
        end = "Lost" if lost else "Won"
        deals.append([deal_id, "default", "u1", str(1000 + 10 * i), created, end, "lost" if lost else "won", closed,
                      closed, "price" if lost else ""])
        events.append([deal_id, _day(start, i + i % 2), "Qualify", ""])
        last = "Qualify"
        if i <= 5:
            events.append([deal_id, _day(start, i + 10), "Proposal", "Qualify"])
            last = "Proposal"
        events.append([deal_id, closed, end, last])
    deals.append(["W25", "default", "u2", "2500", "2024-06-01", "Won", "won", "2024-08-01", "2024-08-01", ""])
    events += [["W25", "2024-06-01", "Qualify", ""], ["W25", "2024-08-01", "Won", "Qualify"]]
    as_of = WIN_AS_OF.date()
    opened = {  # deal -> (created, [(at, to_stage)], stage)
        "O1": (_day(as_of, -34), [(_day(as_of, -34), "Qualify")], "Qualify"),
        "O2": (_day(as_of, -30), [(_day(as_of, -30), "Qualify"), (_day(as_of, -20), "Proposal")], "Proposal"),
        "O3": ("2024-01-01", [("2024-01-01", "Qualify")], "Qualify"),
        "O4": (_day(as_of), [(_day(as_of), "Qualify")], "Qualify"),
        "O5": (_day(as_of, -11), [], "Qualify"),
        "O6": (_day(as_of, -45), [], "Demo"),
    }
    for n, (deal_id, (created, moves, stage)) in enumerate(opened.items()):
        deals.append([deal_id, "default", "u2", str(5000 + 100 * n), created, stage, "open", "", "", ""])
        events += [[deal_id, at, to, prev] for (at, to), prev in zip(moves, ["", *[m[1] for m in moves]])]
        touches.append([f"t{deal_id}", _day(as_of, -1) if created < _day(as_of, -1) else _day(as_of), "phone", deal_id])
    for n in range(1, 4):
        deal_id, created = f"R{n}", _day(start, 30 * n)
        deals.append([deal_id, "renewals", "u1", "800", created, "Signed", "won", _day(start, 30 * n + 14), "", ""])
        events += [[deal_id, created, "Review", ""], [deal_id, _day(start, 30 * n + 14), "Signed", "Review"]]
    deals.append(["R4", "renewals", "u1", "900", "2024-06-01", "Review", "open", "", "", ""])
    events.append(["R4", "2024-06-01", "Review", ""])
    touches.append(["tR4", "2024-06-30", "email", "R4"])
    write_csv(folder / "deals.csv", DEALS, deals)
    write_csv(folder / "stage_events.csv", EVENTS, events)
    write_csv(folder / "touches.csv", TOUCHES, touches)
    return folder


# ---------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Case:
    name: str
    write: Callable[[Path], Path] | None  # None: the session's synth folder
    as_ofs: tuple[datetime, ...]
    win_model: bool = False  # True: some open deal has a win probability at every point; False: none has one


SYNTH_DEALS, SYNTH_SEED = 300, 20240611

CASES = (
    Case("hand", write_folder, (
        datetime(2024, 1, 1, tzinfo=UTC),             # before anything
        datetime(2024, 3, 10, 10, tzinfo=UTC),        # mid-history, exactly d1's move to Proposal; d2 won (03-01
                                                      # 16:30+01:00), d3 lost, d1's close-date push still to come
        datetime(2030, 1, 1),                         # naive (UTC): after everything
    )),
    Case("edges", write_edges, (
        datetime(2024, 2, 1, tzinfo=UTC),             # B1 won exactly now
        datetime(2024, 2, 15, 12, tzinfo=UTC),        # B4 lost exactly now
        datetime(2024, 4, 20, tzinfo=UTC),            # after everything; B6's touch exactly 90 days ago
    )),
    Case("derived", write_derived, (datetime(2024, 1, 12, tzinfo=UTC),)),  # X1 won; X5 and X2 close later
    Case("tiny_shelf", write_tiny_shelf, (datetime(2024, 4, 10, 19, 12, tzinfo=UTC),)),
    Case("late_close_date", write_late_close_date, (datetime(2024, 1, 15, tzinfo=UTC),)),
    Case("win", write_win, (WIN_AS_OF,), win_model=True),
    Case("synth", None, (datetime(2025, 3, 15, 12, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)), win_model=True),
)
BY_NAME = {c.name: c for c in CASES}


@dataclass(frozen=True)
class Point:
    case: str
    as_of: datetime

    @property
    def id(self) -> str:
        return f"{self.case}@{self.as_of:%Y-%m-%dT%H:%M}"


POINTS = tuple(Point(c.name, a) for c in CASES for a in c.as_ofs)

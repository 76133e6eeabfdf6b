"""Synthetic, deterministic data in the interchange format (FORMAT.md).

``write_synth(out_dir, deals=N, seed=S)`` writes one folder with every file of
the format (``<file>.csv`` or ``<file>.parquet``). Same ``deals``, ``seed``,
``as_of`` and ``fmt`` give byte-identical files. Everything is vectorised with
NumPy (no Python loop per deal, event or touch); the few loops run over stages,
push rounds, order rounds or output chunks. A million deals with their 4.4M
stage events, 3.2M close-date events and 12M touches (26M rows in all, 2 GB of
CSV) take about 40 s and 3.5 GB of memory on two cores
(``bench/bench_synth.py``).

The model, and why each constant has its value
----------------------------------------------
Time runs on a *business clock*: ``b`` counts business days (Mon-Fri,
08:00-18:00) since Monday 1970-01-05 and ``_cal(b)`` maps it monotonically to
calendar seconds, so every simulated event lands on a weekday in office hours
and the order of events survives the mapping.

Team: one rep per ``DEALS_PER_REP`` (400) deals, 3 to 2000 reps, in teams of
about six with a manager each; teams cycle through the five territories; one
admin. Accounts (one per five deals) sit in a territory and belong to a rep of
that territory; deals pick accounts with log-normal weights (a few accounts
have many deals), and belong to the account's rep (10% to another rep of the
territory).

Deals are created over the two years before ``as_of`` (default 2026-01-01,
fixed so that output does not depend on the clock) with a rising trend. Each
deal walks the default pipeline ``Qualify → … → Intake → Won``; the time spent
in stage k is log-normal with median ``STAGES[k].median_days`` (calendar days)
and sigma 0.8, scaled by ``(amount / median amount) ** 0.12`` (bigger deals are
slower: a segment effect the best-by dates can learn). At the end of stage k a
deal is lost with probability ``STAGES[k].p_lose`` times a multiplier from its
source (referrals lose less) and its rep (skill, log-normal sigma 0.2); a lost
deal lingers 1.4 times longer in its last stage (deals die slowly). About 30%
of deals that finish are won, and a deal has about 4.4 stage events. A deal whose next event would fall after
``as_of`` stays open in its current stage.

``QUIET_P`` (18%) of deals are drawn to "go quiet": at a uniform stage of their
path, part-way through it, they stop moving and get no more touches, but the
rep keeps pushing the close date. Drawn quiet dates that would fall after
``as_of`` are dropped, so about 15% of all deals end up quiet. The truth is
kept in the extra last column ``deals.synth_quiet_since`` (empty when the deal
did not go quiet), which FORMAT.md's custom-field rule lets through.

Close dates: the rep sets one at creation (log-normal, median 50 days later,
a quarter of them parked at month end and a tenth at quarter end). When a close
date passes while the deal is still open, the rep pushes it one to a few
business days later by a log-normal 25 days (up to 12 pushes; after that it
stays in the past: a stale close date). When a deal closes, 80% of reps set
the close date to the closing day.

Touches: each deal gets ``1 + Poisson(TOUCH_RATE * active business days)``
touches spread uniformly over its active life (creation to closing, to
``as_of``, or to going quiet), plus a meeting just before entering
``1st meeting`` and ``2nd meeting``. Channel, direction, outcome and duration
follow the tables below (``social`` included: recorded, not a real touch).
Leads get cadence touches over their first ten business days. A lead still
inside its first twelve business days is often drawn "in a cadence"; it is
written with status ``new`` all the same (its touches stay): a cadence lives
in bestby as an enrolment with its tasks, which FORMAT.md cannot carry, and a
lead is never ``in_cadence`` without one. The demo enrols some of them.

Accounts with won deals order: a first order one to ten business days after
the win, then repeat orders every log-normal 45 business days until ``as_of``
(at most 12). Each account has a reliability (Beta(5, 2)): unreliable accounts
take less than they committed to, and later than promised. Each order is
invoiced; each account pays with a habit (on time, late, very late) and 1.5%
of invoices are never paid. Wallet rows give each account's potential spend
per product category (at least what it already spends with us), quotas are
set per rep and quarter at 1.25 times the average won amount, and each team's
quota (owner ``team:NAME``) is the sum of its reps'.
"""

from __future__ import annotations

import math
import unicodedata
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bestby.format import (
    BUYING_ROLES,
    CHANNELS,
    DEAL_STATUSES,
    DIRECTIONS,
    LEAD_SOURCES,
    LEAD_STATUSES,
    OUTCOMES,
    ROLES,
    SPECS,
)

__all__ = ["write_synth", "SynthSummary", "DEFAULT_AS_OF", "QUIET_COLUMN", "FILE_NAMES"]

Progress = Callable[[str, int, int], None]

DEFAULT_AS_OF = datetime(2026, 1, 1)
_NEW, _IN_CADENCE = LEAD_STATUSES.index("new"), LEAD_STATUSES.index("in_cadence")
QUIET_COLUMN = "synth_quiet_since"
FILE_NAMES = ("users", "stages", "accounts", "contacts", "products", "deals", "leads",
              "stage_events", "close_date_events", "touches", "orders", "invoices", "wallet", "quotas")

# --------------------------------------------------------------------------- constants

DEALS_PER_REP = 400
MIN_REPS, MAX_REPS = 3, 2000
TEAM_SIZE = 6
TERRITORIES = ("North", "South", "East", "West", "Central")
WINDOW_DAYS = 730  # deals are created over the two years before as_of
QUIET_P = 0.16  # drawn; ~15% end up quiet once quiet dates after as_of are dropped
TOUCH_RATE = 0.20  # random touches per active business day (~9 touches per deal in all)
MAX_PUSHES = 12
CHUNK = 1 << 20  # rows formatted and written at a time


@dataclass(frozen=True)
class _Stage:
    name: str
    kind: str
    probability: float
    median_days: float = 0.0  # calendar days spent in the stage (open stages)
    p_lose: float = 0.0  # chance to be lost at the end of the stage


STAGES = (
    _Stage("Qualify", "open", 0.05, 6, 0.22),
    _Stage("1st meeting", "open", 0.10, 9, 0.16),
    _Stage("Proof", "open", 0.20, 18, 0.22),
    _Stage("2nd meeting", "open", 0.35, 12, 0.12),
    _Stage("Proposal", "open", 0.50, 12, 0.20),
    _Stage("Close", "open", 0.70, 8, 0.12),
    _Stage("Intake", "open", 0.85, 4, 0.03),
    _Stage("Won", "won", 1.00),
    _Stage("Lost", "lost", 0.00),
)
N_OPEN = 7
WON, LOST = 7, 8

SOURCES = LEAD_SOURCES  # deal sources use the lead-source vocabulary
SOURCE_P = (0.35, 0.15, 0.15, 0.25, 0.10)
SOURCE_LOSE_MULT = (1.10, 1.00, 0.70, 0.95, 1.00)

LOST_REASONS = ("Price", "Chose competitor", "No budget", "No decision", "Timing",
                "Budget cut, revisit next year", "Went with \"status quo\"", "Unresponsive")

CATEGORIES = ("Packaging", "Safety", "Electrical", "Hydraulics", "Tooling", "Services")
PRODUCTS = (  # name, category, list price
    ("Stretch Film Pallet", 0, 180.0), ("Corrugated Box Bundle", 0, 95.0), ("Strapping Kit", 0, 420.0),
    ("Safety Gloves Case", 1, 65.0), ("Hard Hat Pack", 1, 240.0), ("Gas Detector", 1, 1350.0),
    ("Cable Reel 500m", 2, 780.0), ("Circuit Breaker Panel", 2, 2400.0), ("LED High Bay", 2, 310.0),
    ("Hydraulic Pump HP-200", 3, 3900.0), ("Hose Assembly Kit", 3, 160.0), ("Valve Block VB-4", 3, 1100.0),
    ("Cordless Drill Set", 4, 520.0), ("Torque Wrench TW-50", 4, 340.0), ("Carbide Insert Box", 4, 85.0),
    ("Installation Service", 5, 6500.0), ("Maintenance Contract", 5, 12000.0), ("Training Day", 5, 2200.0),
)
CATEGORY_SHARE = (0.010, 0.006, 0.012, 0.009, 0.007, 0.015)  # of annual revenue spent per category
COMPETITORS = ("Acme Supply", "Globex", "Initech", "Umbrella Industrial", "Stark Components",
               "Vandelay Industries", "Wayne Distribution")

SECTORS = ("Manufacturing", "Retail", "Healthcare", "Logistics", "Construction", "Food & Beverage",
           "Energy", "Education", "Public sector", "Technology")
PAYMENT_TERMS = (15, 30, 30, 30, 45, 60, 90)

FIRST = ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
         "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
         "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
         "Margaret", "Mark", "Sandra", "José", "María", "Zoë", "Chloé", "Søren", "Ana", "Luis", "Mei",
         "Wei", "Priya", "Arjun", "Fatima", "Omar", "Yuki", "Hiroshi", "Olga", "Ivan", "Lars", "Ingrid",
         "Sean", "Aoife", "Kwame", "Amara", "Ngozi", "Emeka", "Lucía", "Mateo", "François", "Björn")
LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
        "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
        "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
        "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
        "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Müller", "Schmidt",
        "O'Brien", "Núñez", "Kowalski", "Novak", "Dubois", "Rossi", "Tanaka", "Kim", "Patel", "Singh",
        "Okafor", "Haddad", "Johansson")
CO_PREFIX = ("North", "South", "East", "West", "Blue", "Red", "Green", "Silver", "Golden", "Iron",
             "Granite", "Summit", "Pioneer", "Atlas", "Apex", "Vertex", "Harbor", "River", "Lake",
             "Prairie", "Coastal", "Mountain", "Metro", "United", "Allied", "Premier", "First", "Pacific",
             "Atlantic", "Great Lakes", "Evergreen", "Oak", "Cedar", "Maple", "Falcon", "Eagle",
             "Keystone", "Liberty", "Frontier", "Sterling")
CO_CORE = ("Logistics", "Manufacturing", "Foods", "Health", "Energy", "Construction", "Systems",
           "Industries", "Dynamics", "Supply", "Distribution", "Labs", "Materials", "Foundry",
           "Builders", "Packaging", "Plastics", "Metals", "Logic", "Analytics", "Motors", "Textiles",
           "Pharma", "Retail", "Markets", "Hospitality", "Farms", "Utilities", "Transport", "Engineering")
CO_SUFFIX = (" Inc", " LLC", " Ltd", " GmbH", " Group", " Corp", " & Co", " Co., Ltd", " S.A.",
             " Partners", " Holdings", "")
TITLES = {  # per buying role
    "decision_maker": ("CEO", "CFO", "VP Operations", "Head of Procurement", "Plant Director"),
    "champion": ("Operations Manager", "Plant Manager", "Maintenance Manager", "Purchasing Manager"),
    "influencer": ("Process Engineer", "Safety Officer", "Controller", "Analyst"),
    "user": ("Technician", "Coordinator", "Warehouse Lead", "Specialist"),
    "other": ("Assistant", "Office Manager", "Receptionist"),
}
BUYING_ROLE_P = (0.15, 0.20, 0.25, 0.30, 0.10)  # for contacts after the first (a decision maker)

# touches: channel probabilities, then per channel P(inbound), then outcome tables
DEAL_CHANNEL_P = dict(phone=0.24, email=0.36, voicemail=0.07, mail=0.03, text=0.06, meeting=0.04,
                      social=0.12, other=0.08)
LEAD_CHANNEL_P = dict(phone=0.30, email=0.30, voicemail=0.14, mail=0.05, text=0.08, meeting=0.0,
                      social=0.08, other=0.05)
P_INBOUND = dict(phone=0.15, email=0.35, voicemail=0.08, mail=0.03, text=0.30, meeting=0.0,
                 social=0.20, other=0.20)
_O = ("", *OUTCOMES)  # "" = no outcome recorded
OUTCOME_P = {  # (channel, direction) -> probabilities over _O
    ("phone", "out"): (0.00, 0.35, 0.38, 0.20, 0.00, 0.07, 0.00),
    ("phone", "in"): (0.00, 0.90, 0.00, 0.00, 0.00, 0.10, 0.00),
    ("email", "out"): (0.72, 0.00, 0.00, 0.00, 0.18, 0.06, 0.04),
    ("email", "in"): (0.00, 0.00, 0.00, 0.00, 0.88, 0.12, 0.00),
    ("voicemail", "out"): (0.00, 0.00, 0.00, 1.00, 0.00, 0.00, 0.00),
    ("voicemail", "in"): (0.00, 0.00, 0.00, 1.00, 0.00, 0.00, 0.00),
    ("mail", "out"): (0.97, 0.00, 0.00, 0.00, 0.00, 0.00, 0.03),
    ("mail", "in"): (0.00, 0.00, 0.00, 0.00, 1.00, 0.00, 0.00),
    ("text", "out"): (0.60, 0.00, 0.00, 0.00, 0.34, 0.03, 0.03),
    ("text", "in"): (0.00, 0.00, 0.00, 0.00, 1.00, 0.00, 0.00),
    ("meeting", "out"): (0.00, 0.85, 0.00, 0.00, 0.00, 0.15, 0.00),
    ("meeting", "in"): (0.00, 0.85, 0.00, 0.00, 0.00, 0.15, 0.00),
    ("social", "out"): (0.92, 0.00, 0.00, 0.00, 0.08, 0.00, 0.00),
    ("social", "in"): (0.30, 0.00, 0.00, 0.00, 0.70, 0.00, 0.00),
    ("other", "out"): (0.50, 0.50, 0.00, 0.00, 0.00, 0.00, 0.00),
    ("other", "in"): (0.50, 0.50, 0.00, 0.00, 0.00, 0.00, 0.00),
}
NOTES = ("Asked for pricing, sending the deck", "Wants a site visit", "Said \"call me next quarter\"",
         "Forwarded to procurement", "Budget approved", "Competitor is cheaper, per buyer",
         "Needs references", "Left a message with the assistant", "Interested in a trial, 30 days",
         "Reviewing the proposal with finance")
NOTE_P = 0.15

NULL = np.iinfo(np.int64).min  # the null sentinel of every integer column
_DAY = 86400
_MONDAY = 4  # 1970-01-05, a Monday, in days since the Unix epoch


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class SynthSummary:
    """What ``write_synth`` wrote: row counts per file, and the ground truth it planted."""

    out_dir: Path
    fmt: str
    seed: int
    deals: int
    as_of: datetime
    rows: dict[str, int] = field(default_factory=dict)
    quiet_deals: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# --------------------------------------------------------------------------- business clock


def _cal(b: np.ndarray) -> np.ndarray:
    """Map business days since 1970-01-05 08:00 to Unix seconds (monotone, weekdays 08:00-17:59:59)."""
    k = np.floor(b)
    sec = np.minimum(np.floor((b - k) * 36000 + 1e-6), 35999).astype(np.int64)  # 1e-6: float noise
    k = k.astype(np.int64)
    return (7 * (k // 5) + k % 5 + _MONDAY) * _DAY + 8 * 3600 + sec


def _bus(s: np.ndarray | int) -> np.ndarray:
    """Map Unix seconds to business days (inverse of ``_cal``; nights and weekends collapse)."""
    s = np.asarray(s, dtype=np.int64)
    d = s // _DAY - _MONDAY
    tod = (s % _DAY).astype(np.float64)
    week, dow = d // 7, d % 7
    frac = np.clip((tod - 8 * 3600) / 36000.0, 0.0, 1.0)
    return np.where(dow >= 5, 5.0 * week + 5.0, 5.0 * week + dow + frac)


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of days since 1970-01-01 (H. Hinnant's civil_from_days)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = np.where(m > 2, m - 3, m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _month_end(days: np.ndarray, quarter: bool = False) -> np.ndarray:
    y, m, _ = _civil(days)
    if quarter:
        m = (m - 1) // 3 * 3 + 3
    y2, m2 = np.where(m == 12, y + 1, y), np.where(m == 12, 1, m + 1)
    return _days_from_civil(y2, m2, np.ones_like(m2)) - 1


# --------------------------------------------------------------------------- columns


def _ascii_table(width: int, count: int) -> np.ndarray:
    """Row i: ``i`` zero-padded to ``width`` ASCII digits, as a (count, width) uint8 matrix."""
    mat = np.empty((count, width), dtype=np.uint8)
    v = np.arange(count)
    for k in range(width - 1, -1, -1):
        mat[:, k] = 48 + v % 10
        v //= 10
    return mat


_D4 = _ascii_table(4, 10000).view(np.uint32).ravel()  # 4 digits per uint32: one gather per 4 digits
_HMS: np.ndarray | None = None  # "HH:MM:SS" of each second of the day, as uint64, built on first use


def _digits(mat: np.ndarray, pos: int, values: np.ndarray, n: int) -> None:
    """Write non-negative ``values`` zero-padded to ``n`` digits into ``mat[:, pos:pos + n]``."""
    v = values
    end = pos + n
    while end - pos > 0:
        group = _D4[v % 10000].view(np.uint8).reshape(-1, 4)
        take = min(4, end - pos)
        mat[:, end - take:end] = group[:, 4 - take:]
        v = v // 10000
        end -= take


def _hms() -> np.ndarray:
    global _HMS
    if _HMS is None:
        mat = np.empty((_DAY, 8), dtype=np.uint8)
        t = np.arange(_DAY)
        _digits(mat, 0, t // 3600, 2)
        _digits(mat, 3, t // 60 % 60, 2)
        _digits(mat, 6, t % 60, 2)
        mat[:, 2] = mat[:, 5] = ord(":")
        _HMS = mat.view(np.uint64).ravel()
    return _HMS


def _ymd(days: np.ndarray, out: np.ndarray) -> None:
    """Write ``YYYY-MM-DD`` of ``days`` (since 1970-01-01) into ``out[:, :10]`` via a table of the days spanned."""
    if not len(days):
        return
    d0 = int(days.min())
    span = np.arange(d0, int(days.max()) + 1)
    y, m, d = _civil(span)
    tab = np.empty((len(span), 10), dtype=np.uint8)
    _digits(tab, 0, y, 4)
    _digits(tab, 5, m, 2)
    _digits(tab, 8, d, 2)
    tab[:, 4] = tab[:, 7] = ord("-")
    out[:, :10] = np.take(tab.view("V10").ravel(), days - d0).view(np.uint8).reshape(-1, 10)


def _fixed(mat: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """A string array over the rows of a C-contiguous uint8 matrix (no copy)."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    bitmap = None if valid is None or valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(mat)])


def _valid(values: np.ndarray) -> np.ndarray | None:
    ok = values != NULL
    return None if ok.all() else ok


def _quote(arr: pa.Array) -> pa.Array:
    """RFC 4180: quote the values holding a comma, quote or line break, doubling inner quotes."""
    needs = pc.match_substring_regex(arr, '[",\r\n]')
    if not pc.any(needs).as_py():
        return arr
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, arr)


class _Col:
    def csv(self, lo: int, hi: int) -> pa.Array:  # string cells for CSV, nulls for empty cells
        raise NotImplementedError

    def arrow(self, lo: int, hi: int) -> pa.Array:  # typed values for Parquet
        raise NotImplementedError


class _Id(_Col):
    """``prefix`` + a zero-padded number; ``-1`` is null. A ``ref`` column is an ``_Id`` too."""

    def __init__(self, prefix: str, nums: np.ndarray, width: int):
        self.prefix, self.nums, self.width = prefix.encode(), np.asarray(nums), width

    def csv(self, lo, hi):
        v = self.nums[lo:hi]
        p = len(self.prefix)
        mat = np.empty((len(v), p + self.width), dtype=np.uint8)
        mat[:, :p] = np.frombuffer(self.prefix, dtype=np.uint8)
        valid = v >= 0
        _digits(mat, p, np.where(valid, v, 0), self.width)
        return _fixed(mat, None if valid.all() else valid)

    arrow = csv


class _Cat(_Col):
    """A value from a vocabulary; code ``-1`` (or an empty word) is null."""

    def __init__(self, vocab, codes: np.ndarray):
        words = [w if w else None for w in vocab]
        self.vocab = pa.array(words, pa.string())
        self.quoted = _quote(self.vocab) if len(words) else self.vocab
        self.codes = np.asarray(codes)

    def _take(self, vocab, lo, hi):
        c = self.codes[lo:hi]
        return vocab.take(pa.array(c, mask=c < 0))

    def csv(self, lo, hi):
        return self._take(self.quoted, lo, hi)

    def arrow(self, lo, hi):
        return self._take(self.vocab, lo, hi)


class _Text(_Col):
    def __init__(self, arr: pa.Array):
        self.arr = arr

    def csv(self, lo, hi):
        return _quote(self.arr.slice(lo, hi - lo))

    def arrow(self, lo, hi):
        return self.arr.slice(lo, hi - lo)


class _Ts(_Col):
    """Unix seconds as ``YYYY-MM-DDTHH:MM:SS`` (CSV) or ``timestamp[s]`` (Parquet)."""

    def __init__(self, secs: np.ndarray):
        self.secs = np.asarray(secs, dtype=np.int64)

    def csv(self, lo, hi):
        s = self.secs[lo:hi]
        valid = _valid(s)
        if valid is not None:
            s = np.where(valid, s, s[valid][0] if valid.any() else 0)
        days = s // _DAY
        mat = np.empty((len(s), 19), dtype=np.uint8)
        _ymd(days, mat)
        mat[:, 10] = ord("T")
        mat[:, 11:] = _hms()[s - days * _DAY].view(np.uint8).reshape(-1, 8)
        return _fixed(mat, valid)

    def arrow(self, lo, hi):
        s = self.secs[lo:hi]
        return pa.array(s, mask=s == NULL).cast(pa.timestamp("s"))


class _Date(_Col):
    """Days since 1970-01-01 as ``YYYY-MM-DD`` (CSV) or ``date32`` (Parquet)."""

    def __init__(self, days: np.ndarray):
        self.days = np.asarray(days, dtype=np.int64)

    def csv(self, lo, hi):
        v = self.days[lo:hi]
        valid = _valid(v)
        if valid is not None:
            v = np.where(valid, v, v[valid][0] if valid.any() else 0)
        mat = np.empty((len(v), 10), dtype=np.uint8)
        _ymd(v, mat)
        return _fixed(mat, valid)

    def arrow(self, lo, hi):
        v = self.days[lo:hi]
        return pa.array(v.astype(np.int32), mask=v == NULL).cast(pa.date32())


class _Dec(_Col):
    """Hundredths (cents) as a 2-decimal number: ``decimal128(18, 2)``."""

    def __init__(self, cents: np.ndarray):
        self.cents = np.asarray(cents, dtype=np.int64)

    def arrow(self, lo, hi):
        v = self.cents[lo:hi]
        words = np.empty((len(v), 2), dtype=np.int64)
        words[:, 0] = v
        words[:, 1] = v >> 63
        valid = _valid(v)
        bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
        return pa.Array.from_buffers(pa.decimal128(18, 2), len(v), [bitmap, pa.py_buffer(words)])

    def csv(self, lo, hi):
        return self.arrow(lo, hi).cast(pa.string())


class _Int(_Col):
    def __init__(self, values: np.ndarray):
        self.values = np.asarray(values, dtype=np.int64)

    def arrow(self, lo, hi):
        v = self.values[lo:hi]
        return pa.array(v, mask=v == NULL)

    def csv(self, lo, hi):
        return self.arrow(lo, hi).cast(pa.string())


class _Float(_Col):
    def __init__(self, values: np.ndarray):
        self.values = np.asarray(values, dtype=np.float64)

    def arrow(self, lo, hi):
        return pa.array(self.values[lo:hi])

    def csv(self, lo, hi):
        return self.arrow(lo, hi).cast(pa.string())


# --------------------------------------------------------------------------- writing


def _csv_chunk(cols: list[_Col], lo: int, hi: int) -> memoryview:
    """Rows ``lo:hi`` as CSV bytes: cells joined by commas, each row ended by a newline."""
    cells = [c.csv(lo, hi) for c in cols]
    cells[-1] = pc.binary_join_element_wise(cells[-1], "", "\n", null_handling="replace", null_replacement="")
    line = pc.binary_join_element_wise(*cells, ",", null_handling="replace", null_replacement="")
    offsets = np.frombuffer(line.buffers()[1], dtype=np.int32, count=len(line) + 1, offset=line.offset * 4)
    return memoryview(line.buffers()[2])[offsets[0]:offsets[-1]]


def _write(out_dir: Path, name: str, cols: dict[str, _Col], n: int, fmt: str, progress: Progress | None) -> int:
    """Write one file in chunks; its columns are the spec's, in order, then any extras.

    CSV chunks are formatted two at a time on a thread pool (NumPy and Arrow release the GIL) and
    written in order, so the bytes do not depend on the threads.
    """
    spec = SPECS[name].column_names
    names = list(cols)
    assert tuple(names[: len(spec)]) == spec, (name, names)
    if fmt == "csv":
        col_list = list(cols.values())
        with open(out_dir / f"{name}.csv", "wb") as f, ThreadPoolExecutor(max_workers=2) as pool:
            f.write((",".join(names) + "\n").encode())
            pending: deque = deque()
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK)
                pending.append((hi, pool.submit(_csv_chunk, col_list, lo, hi)))
                while len(pending) > 2 or (pending and hi == n):
                    done, fut = pending.popleft()
                    f.write(fut.result())
                    if progress:
                        progress(name, done, n)
    else:
        writer = None
        try:
            for lo in range(0, max(n, 1), CHUNK):
                hi = min(n, lo + CHUNK)
                table = pa.table({k: c.arrow(lo, hi) for k, c in cols.items()})
                if writer is None:
                    writer = pq.ParquetWriter(out_dir / f"{name}.parquet", table.schema, compression="zstd")
                writer.write_table(table)
                if progress:
                    progress(name, hi, n)
        finally:
            if writer is not None:
                writer.close()
    if progress and n == 0 and fmt == "csv":
        progress(name, 0, 0)
    return n


# --------------------------------------------------------------------------- helpers


def _pick(rng: np.random.Generator, p, size: int) -> np.ndarray:
    """Codes drawn with probabilities ``p`` (normalised)."""
    cum = np.cumsum(np.asarray(p, dtype=np.float64))
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(size), side="right"), len(cum) - 1)


def _pick_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each element, a code drawn from the probabilities ``table[rows[i]]``.

    One search in the rows' cumulative distributions laid end to end (row r shifted by r).
    """
    k = table.shape[1]
    cum = np.cumsum(table, axis=1)
    cum = cum / cum[:, -1:]
    cum[:, -1] = 1.0
    flat = (cum + np.arange(table.shape[0])[:, None]).ravel()
    code = np.searchsorted(flat, rows + rng.random(len(rows)), side="right") - rows * k
    return np.minimum(code, k - 1)


def _width(n: int) -> int:
    return max(4, len(str(max(n, 1))))


def _slug(word: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_.lower() if ch.isalnum())


def _words(vocab, codes: np.ndarray) -> pa.Array:
    return pa.array(list(vocab), pa.string()).take(pa.array(codes))


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _people(rng: np.random.Generator, n: int, domains: pa.Array | None = None) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Names, e-mail addresses and phone numbers of ``n`` people (``domains``: one per person)."""
    fi, la = rng.integers(0, len(FIRST), n), rng.integers(0, len(LAST), n)
    names = _join(_words(FIRST, fi), _words(LAST, la), sep=" ")
    local = _join(_words([_slug(w) for w in FIRST], fi), _words([_slug(w) for w in LAST], la), sep=".")
    if domains is None:
        domains = _words(("example.com", "example.net", "example.org"), rng.integers(0, 3, n))
    emails = _join(local, domains, sep="@")
    mat = np.empty((n, 15), dtype=np.uint8)
    mat[:, :3] = np.frombuffer(b"+1-", dtype=np.uint8)
    _digits(mat, 3, rng.integers(201, 990, n), 3)
    mat[:, 6:11] = np.frombuffer(b"-555-", dtype=np.uint8)
    _digits(mat, 11, rng.integers(100, 200, n), 4)  # 555-0100..0199: reserved for fiction
    return names, emails, _fixed(mat, None)


def _companies(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    """Company names (some with a comma, to exercise quoting) and their e-mail domains."""
    p, c = rng.integers(0, len(CO_PREFIX), n), rng.integers(0, len(CO_CORE), n)
    s = rng.integers(0, len(CO_SUFFIX), n)
    names = _join(_join(_words(CO_PREFIX, p), _words(CO_CORE, c), sep=" "), _words(CO_SUFFIX, s))
    domains = _join(_words([_slug(w) for w in CO_PREFIX], p), _words([_slug(w) for w in CO_CORE], c),
                    ".example")
    return names, domains


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of ``counts`` items: each item's group and its index within the group."""
    counts = counts.astype(np.int64)
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(len(group)) - starts[group]


def _sorted_uniforms(rng: np.random.Generator, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of ``counts`` items: each item's group and a uniform in [0, 1), ascending within groups.

    Uses exponential spacings instead of a sort: with E_0..E_k i.i.d. Exp(1), the partial sums
    (E_0 + ... + E_i) / (E_0 + ... + E_k), i < k, are the order statistics of k uniforms.
    """
    counts = counts.astype(np.int64)
    slots = counts + 1
    c = np.cumsum(rng.exponential(1.0, int(slots.sum())))
    end = np.cumsum(slots) - 1  # the extra slot closing each group
    start_total = np.concatenate([[0.0], c[end[:-1]]])
    group = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(len(group)) - np.repeat(np.cumsum(counts) - counts, counts)
    slot = (np.cumsum(slots) - slots)[group] + within
    u = (c[slot] - start_total[group]) / (c[end] - start_total)[group]
    return group, np.minimum(u, np.nextafter(1.0, 0.0))


def _to_seconds(as_of: datetime | date) -> int:
    if not isinstance(as_of, datetime):
        as_of = datetime.combine(as_of, time())
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(timezone.utc).replace(tzinfo=None)
    return int((as_of - datetime(1970, 1, 1)).total_seconds())


# --------------------------------------------------------------------------- the generator


def write_synth(out_dir: Path, *, deals: int, seed: int, fmt: str = "csv", as_of: datetime | None = None,
                progress: Progress | None = None) -> SynthSummary:
    """Write a realistic, deterministic FORMAT.md folder of ``deals`` deals and everything around them."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if deals < 1:
        raise ValueError("deals must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    as_of = as_of or DEFAULT_AS_OF
    gen = _Generator(deals=deals, seed=seed, asof_s=_to_seconds(as_of), progress=progress)
    rows: dict[str, int] = {}
    for name, cols, n in gen.files():
        rows[name] = _write(out_dir, name, cols, n, fmt, progress)
        del cols  # let the file's columns go before the next table is drawn
    return SynthSummary(out_dir=out_dir, fmt=fmt, seed=seed, deals=deals, as_of=as_of, rows=rows,
                        quiet_deals=int(gen.quiet.sum()))


class _Generator:
    """Draws every table in a fixed order from one ``default_rng(seed)``; yields them file by file."""

    def __init__(self, *, deals: int, seed: int, asof_s: int, progress: Progress | None):
        self.n = deals
        self.rng = np.random.default_rng(seed)
        self.asof_s = asof_s
        self.asof_b = float(_bus(asof_s))
        self.window_b = WINDOW_DAYS * 5 / 7
        self.progress = progress

    def _step(self, what: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(what, done, total)

    def files(self):
        steps = 8
        self._step("simulate", 0, steps)
        self._team()
        self._step("simulate", 1, steps)
        self._accounts()
        self._step("simulate", 2, steps)
        self._deals()
        self._step("simulate", 3, steps)
        self._paths()
        self._step("simulate", 4, steps)
        self._close_dates()
        self._step("simulate", 5, steps)
        self._leads()
        self._step("simulate", 6, steps)
        self._orders()
        self._step("simulate", 7, steps)
        self._quotas()
        self._step("simulate", 8, steps)
        # each file's columns are dropped once written, to keep the peak memory down
        yield "users", self.__dict__.pop("users_cols"), self.n_users
        yield "stages", self.__dict__.pop("stages_cols"), len(STAGES)
        yield "accounts", self.__dict__.pop("accounts_cols"), self.n_acc
        yield "contacts", self.__dict__.pop("contacts_cols"), self.n_con
        yield "products", self.__dict__.pop("products_cols"), len(PRODUCTS)
        yield "deals", self.__dict__.pop("deals_cols"), self.n
        yield "leads", self.__dict__.pop("leads_cols"), self.n_leads
        yield "stage_events", self.__dict__.pop("stage_events_cols"), self.n_stage_events
        yield "close_date_events", self.__dict__.pop("close_events_cols"), self.n_close_events
        self._touches()  # the biggest table is drawn last, once the others are written
        yield "touches", self.__dict__.pop("touches_cols"), self.n_touches
        yield "orders", self.__dict__.pop("orders_cols"), self.n_lines
        yield "invoices", self.__dict__.pop("invoices_cols"), self.n_invoices
        yield "wallet", self.__dict__.pop("wallet_cols"), self.n_wallet
        yield "quotas", self.__dict__.pop("quotas_cols"), self.n_quotas

    # ---- users and stages

    def _team(self) -> None:
        rng = self.rng
        n_reps = int(np.clip(round(self.n / DEALS_PER_REP), MIN_REPS, MAX_REPS))
        n_teams = max(1, round(n_reps / TEAM_SIZE))
        self.n_reps, self.n_teams = n_reps, n_teams
        # user index: 0 admin, 1..n_teams managers, then reps
        self.rep_team = np.arange(n_reps) * n_teams // n_reps
        self.team_territory = np.arange(n_teams) % len(TERRITORIES)
        self.team_names = [f"{TERRITORIES[t % len(TERRITORIES)]} {t // len(TERRITORIES) + 1}"
                           for t in range(n_teams)]
        self.rep_user = 1 + n_teams + np.arange(n_reps)
        self.rep_skill = np.exp(rng.normal(0.0, 0.2, n_reps))
        n_users = 1 + n_teams + n_reps
        self.n_users = n_users
        self.uw = _width(n_users)
        role = np.concatenate([[ROLES.index("admin")], np.full(n_teams, ROLES.index("manager")),
                               np.full(n_reps, ROLES.index("rep"))])
        manager = np.concatenate([[-1], np.full(n_teams, -1), 1 + self.rep_team])
        team = np.concatenate([[-1], np.arange(n_teams), self.rep_team])
        territory = np.where(team >= 0, self.team_territory[np.maximum(team, 0)], -1)
        names, emails, _ = _people(rng, n_users, _words(("bestby.example",), np.zeros(n_users, np.int64)))
        self.user_names = names
        self.users_cols = {
            "user_id": _Id("U", np.arange(n_users), self.uw),
            "name": _Text(names),
            "email": _Text(emails),
            "role": _Cat(ROLES, role),
            "manager_id": _Id("U", manager, self.uw),
            "team": _Cat(self.team_names, team),
            "territory": _Cat(TERRITORIES, territory),
        }
        k = len(STAGES)
        self.stages_cols = {
            "pipeline": _Cat(("default",), np.zeros(k, np.int64)),
            "stage": _Cat([s.name for s in STAGES], np.arange(k)),
            "position": _Int(np.arange(1, k + 1)),
            "kind": _Cat(("open", "won", "lost"), np.array([("open", "won", "lost").index(s.kind) for s in STAGES])),
            "probability": _Float(np.array([s.probability for s in STAGES])),
        }

    # ---- accounts, contacts, products

    def _accounts(self) -> None:
        rng = self.rng
        n_acc = max(5, self.n // 5)
        self.n_acc = n_acc
        self.aw = _width(n_acc)
        covered = np.unique(self.team_territory)
        self.acc_territory = covered[rng.integers(0, len(covered), n_acc)]
        # the account's rep: a rep of a team covering the territory
        rep_terr = self.team_territory[self.rep_team]
        order = np.argsort(rep_terr, kind="stable")
        first = np.searchsorted(rep_terr[order], self.acc_territory, side="left")
        count = np.searchsorted(rep_terr[order], self.acc_territory, side="right") - first
        self.acc_rep = order[first + (rng.random(n_acc) * count).astype(np.int64)]
        self.acc_weight = np.exp(rng.normal(0.0, 1.0, n_acc))
        employees = np.maximum(3, np.round(np.exp(rng.normal(math.log(200), 1.3, n_acc)))).astype(np.int64)
        revenue = np.round(employees * np.exp(rng.normal(math.log(150_000), 0.5, n_acc)), -3) * 100
        self.acc_revenue = revenue.astype(np.int64)  # cents
        self.acc_terms = np.array(PAYMENT_TERMS)[rng.integers(0, len(PAYMENT_TERMS), n_acc)]
        parent = np.where((rng.random(n_acc) < 0.04) & (np.arange(n_acc) > 0),
                          (rng.random(n_acc) * np.arange(n_acc)).astype(np.int64), -1)
        self.acc_discount = np.round(rng.uniform(0.0, 0.2, n_acc), 2)
        self.acc_reliability = rng.beta(5, 2, n_acc)
        habit = _pick(rng, (0.6, 0.3, 0.1), n_acc)
        # mean days paid after the due date: on time (-3 ± 4), late (12 ± 8), very late (40 ± 15)
        mu, sd = np.array([-3.0, 12.0, 40.0])[habit], np.array([4.0, 8.0, 15.0])[habit]
        self.acc_pay_mu = mu + rng.normal(0, 1, n_acc) * sd
        names, domains = _companies(rng, n_acc)
        self.acc_names = names
        sector = rng.integers(0, len(SECTORS), n_acc)
        self._acc_cols = {  # created_at is known once the deals are drawn
            "account_id": _Id("A", np.arange(n_acc), self.aw),
            "name": _Text(names),
            "sector": _Cat(SECTORS, sector),
            "territory": _Cat(TERRITORIES, self.acc_territory),
            "employees": _Int(employees),
            "annual_revenue": _Dec(self.acc_revenue),
            "parent_account_id": _Id("A", parent, self.aw),
            "payment_terms_days": _Int(self.acc_terms),
        }
        # contacts: 2-5 per account, the first a decision maker
        n_c = rng.integers(2, 6, n_acc)
        self.con_start = np.cumsum(n_c) - n_c
        self.con_count = n_c
        con_acc, j = _expand(n_c)
        n_con = len(con_acc)
        self.n_con = n_con
        role = np.where(j == 0, 0, _pick(rng, BUYING_ROLE_P, n_con))
        titles = [t for r in BUYING_ROLES for t in TITLES[r]]
        t_off = np.cumsum([0] + [len(TITLES[r]) for r in BUYING_ROLES])[:-1]
        t_len = np.array([len(TITLES[r]) for r in BUYING_ROLES])
        title = t_off[role] + (rng.random(n_con) * t_len[role]).astype(np.int64)
        cnames, cemails, cphones = _people(rng, n_con, domains.take(pa.array(con_acc)))
        self.contacts_cols = {
            "contact_id": _Id("C", np.arange(n_con), _width(n_con)),
            "account_id": _Id("A", con_acc, self.aw),
            "name": _Text(cnames),
            "title": _Cat(titles, title),
            "email": _Text(cemails),
            "phone": _Text(cphones),
            "buying_role": _Cat(BUYING_ROLES, role),
        }
        self.cw = _width(n_con)
        k = len(PRODUCTS)
        self.prod_price = np.array([round(p[2] * 100) for p in PRODUCTS], dtype=np.int64)
        self.prod_cat = np.array([p[1] for p in PRODUCTS])
        cost_ratio = np.round(rng.uniform(0.45, 0.75, k), 2)
        self.prod_cost = np.round(self.prod_price * cost_ratio).astype(np.int64)
        self.prod_weight = rng.uniform(0.5, 1.5, k)
        self.products_cols = {
            "product_id": _Id("P", np.arange(k), 3),
            "name": _Cat([p[0] for p in PRODUCTS], np.arange(k)),
            "category": _Cat(CATEGORIES, self.prod_cat),
            "list_price": _Dec(self.prod_price),
            "unit_cost": _Dec(self.prod_cost),
        }

    # ---- deals

    def _deals(self) -> None:
        rng, n = self.rng, self.n
        u = np.sort(rng.random(n))
        self.created_b = self.asof_b - self.window_b * (1.0 - u ** (1 / 1.3))  # rising trend
        self.created_b = np.minimum(self.created_b, self.asof_b - 1e-4)
        cw = np.cumsum(self.acc_weight)
        self.deal_acc = np.minimum(np.searchsorted(cw / cw[-1], rng.random(n), side="right"), self.n_acc - 1)
        owner = self.acc_rep[self.deal_acc]
        other = rng.random(n) < 0.10  # a colleague of the same territory
        rep_terr = self.team_territory[self.rep_team]
        order = np.argsort(rep_terr, kind="stable")
        terr = rep_terr[owner]
        first = np.searchsorted(rep_terr[order], terr, side="left")
        cnt = np.searchsorted(rep_terr[order], terr, side="right") - first
        alt = order[first + (rng.random(n) * cnt).astype(np.int64)]
        self.deal_rep = np.where(other, alt, owner)
        self.deal_prod = _pick(rng, self.prod_weight, n)
        price = self.prod_price[self.deal_prod]
        unit = np.round(price * (1 - self.acc_discount[self.deal_acc])).astype(np.int64)
        qty = np.maximum(1, np.round(np.exp(rng.normal(np.log(2_000_000 / price), 0.9)))).astype(np.int64)
        self.deal_qty, self.deal_unit = qty, unit
        self.deal_amount = qty * unit  # cents
        self.deal_source = _pick(rng, SOURCE_P, n)
        # account created before its first deal
        first_deal = np.full(self.n_acc, np.inf)
        np.minimum.at(first_deal, self.deal_acc, self.created_b)
        lead_time = np.exp(rng.normal(math.log(120), 1.0, self.n_acc))
        no_deal = ~np.isfinite(first_deal)
        first_deal[no_deal] = self.asof_b - rng.random(int(no_deal.sum())) * self.window_b
        self.acc_created_b = first_deal - lead_time
        self._acc_cols["created_at"] = _Ts(_cal(self.acc_created_b))
        self.accounts_cols = self.__dict__.pop("_acc_cols")

    def _paths(self) -> None:
        """Stage durations, losses, quiet deals and the state at as_of; stage events."""
        rng, n = self.rng, self.n
        med = np.array([s.median_days * 5 / 7 for s in STAGES[:N_OPEN]])
        p_lose = np.array([s.p_lose for s in STAGES[:N_OPEN]])
        size = (self.deal_amount / np.median(self.deal_amount)) ** 0.12
        dur = med[None, :] * np.exp(rng.normal(0.0, 0.8, (n, N_OPEN))) * size[:, None]
        dur = np.maximum(dur, 0.02)
        mult = np.array(SOURCE_LOSE_MULT)[self.deal_source] * self.rep_skill[self.deal_rep]
        lose = rng.random((n, N_OPEN)) < np.minimum(p_lose[None, :] * mult[:, None], 0.95)
        lost = lose.any(axis=1)
        term = np.where(lost, lose.argmax(axis=1), N_OPEN - 1)
        rows = np.arange(n)
        dur[rows, term] *= np.where(lost, 1.4, 1.0)
        entry = np.empty((n, N_OPEN + 1))
        entry[:, 0] = self.created_b
        np.cumsum(dur, axis=1, out=entry[:, 1:])
        entry[:, 1:] += self.created_b[:, None]
        ecal = _cal(entry)
        ecal[:, 0] = _cal(self.created_b)
        # quiet deals: stall part-way through a stage of their path
        cand = rng.random(n) < QUIET_P
        q = (rng.random(n) * (term + 1)).astype(np.int64)
        qs_b = entry[rows, q] + rng.uniform(0.15, 0.85, n) * dur[rows, q]
        qs_s = _cal(qs_b)
        quiet = cand & (qs_s < self.asof_s)
        last = np.where(quiet, q, term)
        entered = (ecal[:, :N_OPEN] < self.asof_s) & (np.arange(N_OPEN)[None, :] <= last[:, None])
        n_entered = entered.sum(axis=1)
        closed = ~quiet & (ecal[rows, term + 1] < self.asof_s)
        won, lostc = closed & ~lost, closed & lost
        self.quiet, self.quiet_b, self.quiet_s = quiet, np.where(quiet, qs_b, np.inf), np.where(quiet, qs_s, NULL)
        self.closed, self.won = closed, won
        self.closed_b = np.where(closed, entry[rows, term + 1], np.inf)
        self.closed_s = np.where(closed, ecal[rows, term + 1], NULL)
        self.stage_now = np.where(won, WON, np.where(lostc, LOST, n_entered - 1))
        self.entry_b, self.dur, self.n_entered = entry, dur, n_entered
        # stage events: entries into stages 0..n_entered-1, then the close
        n_ev = n_entered + closed
        ev_deal, j = _expand(n_ev)
        is_close = j == n_entered[ev_deal]
        to = np.where(is_close, np.where(lost, LOST, WON)[ev_deal], j)
        self.n_stage_events = len(ev_deal)
        self.stage_events_cols = {
            "deal_id": _Id("D", ev_deal, self.dw),
            "at": _Ts(ecal[ev_deal, j]),
            "to_stage": _Cat([s.name for s in STAGES], to),
            "from_stage": _Cat([s.name for s in STAGES], j - 1),
        }
        self.ecal = ecal

    @property
    def dw(self) -> int:
        return _width(self.n)

    def _close_dates(self) -> None:
        """The close date set at creation, pushed when it passes, set to the closing day on close."""
        rng, n = self.rng, self.n
        created_s = self.ecal[:, 0]
        created_day = created_s // _DAY
        init = created_day + np.maximum(7, np.round(np.exp(rng.normal(math.log(50), 0.5, n)))).astype(np.int64)
        park = rng.random(n)
        init = np.where(park < 0.25, _month_end(init), np.where(park < 0.35, _month_end(init, quarter=True), init))
        ev = [(np.arange(n), created_s, init, np.full(n, NULL))]
        end_s = np.where(self.closed, self.closed_s, self.asof_s)
        cur, last_b = init.copy(), self.created_b.copy()
        idx = np.arange(n)
        for _ in range(MAX_PUSHES):
            # the rep notices one to a few business days after the close date passed
            noticed = _bus((cur[idx] + 1) * _DAY) + np.exp(rng.normal(math.log(1.5), 0.6, len(idx)))
            at_b = np.maximum(noticed, last_b[idx] + 0.05)
            at_s = _cal(at_b)
            ok = at_s < end_s[idx]
            idx, at_b, at_s = idx[ok], at_b[ok], at_s[ok]
            if not len(idx):
                break
            push = np.maximum(3, np.round(np.exp(rng.normal(math.log(25), 0.6, len(idx))))).astype(np.int64)
            new = at_s // _DAY + push
            new = np.where(rng.random(len(idx)) < 0.3, _month_end(new), new)
            ev.append((idx, at_s, new, cur[idx].copy()))
            cur[idx], last_b[idx] = new, at_b
        closing_day = np.where(self.closed, self.closed_s // _DAY, NULL)
        fix = np.flatnonzero(self.closed & (rng.random(n) < 0.8) & (closing_day != cur))
        ev.append((fix, self.closed_s[fix], closing_day[fix], cur[fix].copy()))
        cur[fix] = closing_day[fix]
        self.close_date = cur
        # a deal takes part in rounds 0..r without a gap, so its r-th event goes to row start + r
        count = np.zeros(n, np.int64)
        rank = []
        for e in ev:
            rank.append(count[e[0]].copy())
            count[e[0]] += 1
        pos = (np.cumsum(count) - count)[np.concatenate([e[0] for e in ev])] + np.concatenate(rank)
        total = int(count.sum())

        def placed(i: int) -> np.ndarray:
            out = np.empty(total, np.int64)
            out[pos] = np.concatenate([e[i] for e in ev])
            return out

        self.n_close_events = total
        self.close_events_cols = {
            "deal_id": _Id("D", placed(0), self.dw),
            "at": _Ts(placed(1)),
            "new_close_date": _Date(placed(2)),
            "old_close_date": _Date(placed(3)),
        }

    # ---- leads

    def _leads(self) -> None:
        rng, n = self.rng, self.n
        n_leads = max(1, n // 2)
        n_conv = min(n, int(n_leads * 0.35))
        conv_deal = rng.choice(n, n_conv, replace=False)
        l_created = np.empty(n_leads)
        l_created[:n_conv] = self.created_b[conv_deal] - np.maximum(0.5, np.exp(rng.normal(math.log(8), 0.6, n_conv)))
        rest = n_leads - n_conv
        l_created[n_conv:] = self.asof_b - self.window_b * (1.0 - rng.random(rest) ** (1 / 1.3))
        l_deal = np.full(n_leads, -1)
        l_deal[:n_conv] = conv_deal
        source = _pick(rng, SOURCE_P, n_leads)
        source[:n_conv] = self.deal_source[conv_deal]  # the deal keeps its lead's source
        owner = np.empty(n_leads, np.int64)
        owner[:n_conv] = self.deal_rep[conv_deal]
        owner[n_conv:] = rng.integers(0, self.n_reps, rest)
        age = self.asof_b - l_created
        status = np.full(n_leads, LEAD_STATUSES.index("converted"))
        probs = np.array([  # new, in_cadence, engaged, nurture, disqualified, converted
            [0.70, 0.30, 0.00, 0.00, 0.00, 0.0],
            [0.05, 0.75, 0.15, 0.00, 0.05, 0.0],
            [0.00, 0.00, 0.10, 0.50, 0.40, 0.0],
        ])
        band = np.where(age < 1, 0, np.where(age < 12, 1, 2))
        status[n_conv:] = _pick_rows(rng, probs, band[n_conv:])
        order = np.argsort(l_created, kind="stable")  # lead ids in creation order
        l_created, l_deal, source, owner, status = (a[order] for a in (l_created, l_deal, source, owner, status))
        names, emails, phones = _people(rng, n_leads)
        co_names, _ = _companies(rng, n_leads)
        conv = l_deal >= 0
        deal_account = np.where(conv, self.deal_acc[np.maximum(l_deal, 0)], 0)
        company = pc.if_else(pa.array(conv), self.acc_names.take(pa.array(deal_account)), co_names)
        self.n_leads = n_leads
        self.lead_created_b, self.lead_deal, self.lead_owner, self.lead_status = l_created, l_deal, owner, status
        self.leads_cols = {
            "lead_id": _Id("L", np.arange(n_leads), _width(n_leads)),
            "name": _Text(names),
            "company": _Text(company),
            "email": _Text(emails),
            "phone": _Text(phones),
            "owner_id": _Id("U", self.rep_user[owner], self.uw),
            "source": _Cat(LEAD_SOURCES, source),
            "created_at": _Ts(_cal(l_created)),
            "status": _Cat(LEAD_STATUSES, np.where(status == _IN_CADENCE, _NEW, status)),
            "converted_deal_id": _Id("D", l_deal, self.dw),
        }
        # the deals file, now that sources are final
        lost_reason = np.where(self.stage_now == LOST, rng.integers(0, len(LOST_REASONS), n), -1)
        status_d = np.where(self.stage_now == WON, 1, np.where(self.stage_now == LOST, 2, 0))
        deal_names = _join(self.acc_names.take(pa.array(self.deal_acc)),
                           _words([p[0] for p in PRODUCTS], self.deal_prod), sep=" - ")
        self.deals_cols = {
            "deal_id": _Id("D", np.arange(n), self.dw),
            "pipeline": _Cat(("default",), np.zeros(n, np.int64)),
            "name": _Text(deal_names),
            "account_id": _Id("A", self.deal_acc, self.aw),
            "owner_id": _Id("U", self.rep_user[self.deal_rep], self.uw),
            "amount": _Dec(self.deal_amount),
            "currency": _Cat(("USD",), np.zeros(n, np.int64)),
            "created_at": _Ts(self.ecal[:, 0]),
            "stage": _Cat([s.name for s in STAGES], self.stage_now),
            "status": _Cat(DEAL_STATUSES, status_d),
            "closed_at": _Ts(self.closed_s),
            "close_date": _Date(self.close_date),
            "lost_reason": _Cat(LOST_REASONS, lost_reason),
            "source": _Cat(SOURCES, self.deal_source),
            "product_id": _Id("P", self.deal_prod, 3),
            QUIET_COLUMN: _Ts(self.quiet_s),
        }

    # ---- touches

    def _touch_attrs(self, n: int, channel_p: dict) -> dict[str, np.ndarray]:
        rng = self.rng
        ch = _pick(rng, [channel_p[c] for c in CHANNELS], n)
        p_in = np.array([P_INBOUND[c] for c in CHANNELS])
        direction = (rng.random(n) < p_in[ch]).astype(np.int64)
        table = np.array([OUTCOME_P[(c, d)] for c in CHANNELS for d in DIRECTIONS])
        outcome = _pick_rows(rng, table, ch * 2 + direction) - 1  # -1: no outcome
        return {"channel": ch, "direction": direction, "outcome": outcome}

    def _touches(self) -> None:
        rng, n = self.rng, self.n
        meeting = CHANNELS.index("meeting")
        # random touches over each deal's active life
        end_b = np.minimum(np.minimum(self.closed_b, self.quiet_b), self.asof_b)
        life = np.maximum(end_b - self.created_b, 0.0)
        k = 1 + rng.poisson(TOUCH_RATE * life)
        t_deal, t_u = _sorted_uniforms(rng, k)
        t_at = _cal(self.created_b[t_deal] + t_u * life[t_deal])
        attrs = self._touch_attrs(len(t_deal), DEAL_CHANNEL_P)
        # a meeting just before entering "1st meeting" and "2nd meeting" (in deal, then time order)
        m_b = np.stack([self.entry_b[:, s_] - np.minimum(0.3, 0.5 * self.dur[:, s_ - 1]) for s_ in (1, 3)], axis=1)
        has = np.stack([self.n_entered > 1, self.n_entered > 3], axis=1)
        m_deal = np.repeat(np.arange(n), 2)[has.ravel()]
        m_at = _cal(m_b.ravel()[has.ravel()])
        m_attrs = {"channel": np.full(len(m_deal), meeting), "direction": np.zeros(len(m_deal), np.int64),
                   "outcome": np.where(rng.random(len(m_deal)) < 0.8, OUTCOMES.index("connected"),
                                       OUTCOMES.index("meeting_booked"))}
        # merge the two (deal, time)-sorted lists without a sort
        base = int(min(t_at.min(initial=self.asof_s), m_at.min(initial=self.asof_s)))  # keys: deal << 32 | time
        key_t = (t_deal << 32) + (t_at - base)
        key_m = (m_deal << 32) + (m_at - base)
        pos_t = np.arange(len(key_t)) + np.searchsorted(key_m, key_t, side="left")
        pos_m = np.arange(len(key_m)) + np.searchsorted(key_t, key_m, side="right")
        total_d = len(key_t) + len(key_m)

        def merged(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            out = np.empty(total_d, dtype=np.result_type(a, b))
            out[pos_t], out[pos_m] = a, b
            return out

        deal, at = merged(t_deal, m_deal), merged(t_at, m_at)
        # never after as_of, never after the deal went quiet or closed
        big = np.iinfo(np.int64).max
        keep = (at < self.asof_s) & (at < np.where(self.quiet, self.quiet_s, big)[deal])
        keep &= at <= np.where(self.closed, self.closed_s, big)[deal]
        keep = np.flatnonzero(keep)
        deal, at = deal[keep], at[keep]
        attrs = {k_: merged(attrs[k_], m_attrs[k_])[keep] for k_ in attrs}
        acc = self.deal_acc[deal]
        contact = self.con_start[acc] + (rng.random(len(deal)) * self.con_count[acc]).astype(np.int64)
        owner = self.rep_user[self.deal_rep[deal]]
        # cadence touches of leads over their first ten business days
        cadence_n = np.array([1, 3, 6, 6, 4, 5])  # by lead status
        worked = self.lead_status != LEAD_STATUSES.index("new")
        lk = np.where(worked, np.maximum(1, cadence_n[self.lead_status] + rng.integers(-1, 3, self.n_leads)), 0)
        l_end = np.minimum(self.lead_created_b + 10, self.asof_b)
        conv = self.lead_deal >= 0
        l_end = np.where(conv, np.minimum(l_end, self.created_b[np.maximum(self.lead_deal, 0)]), l_end)
        span = np.maximum(l_end - self.lead_created_b, 0.0)
        l_lead, l_u = _sorted_uniforms(rng, lk)
        l_at = _cal(self.lead_created_b[l_lead] + l_u * span[l_lead])
        l_ok = l_at < self.asof_s
        l_lead, l_at = l_lead[l_ok], l_at[l_ok]
        l_attrs = self._touch_attrs(len(l_lead), LEAD_CHANNEL_P)
        nd, nl = len(deal), len(l_lead)
        total = nd + nl
        channel = np.concatenate([attrs["channel"], l_attrs["channel"]])
        outcome = np.concatenate([attrs["outcome"], l_attrs["outcome"]])
        duration = np.full(total, NULL)
        talk = (channel == CHANNELS.index("phone")) & (outcome == OUTCOMES.index("connected"))
        duration[talk] = np.maximum(1, np.round(np.exp(rng.normal(math.log(6), 0.7, int(talk.sum())))))
        met = channel == meeting
        duration[met] = np.array([30, 45, 60, 90])[rng.integers(0, 4, int(met.sum()))]
        notes = np.full(total, -1)
        noted = np.flatnonzero(rng.random(total) < NOTE_P)
        notes[noted] = rng.integers(0, len(NOTES), len(noted))
        neg = np.full(nl, -1)
        self.n_touches = total
        self.touches_cols = {
            "touch_id": _Id("T", np.arange(total), _width(total)),
            "at": _Ts(np.concatenate([at, l_at])),
            "channel": _Cat(CHANNELS, channel),
            "owner_id": _Id("U", np.concatenate([owner, self.rep_user[self.lead_owner[l_lead]]]), self.uw),
            "direction": _Cat(DIRECTIONS, np.concatenate([attrs["direction"], l_attrs["direction"]])),
            "outcome": _Cat(OUTCOMES, outcome),
            "deal_id": _Id("D", np.concatenate([deal, neg]), self.dw),
            "lead_id": _Id("L", np.concatenate([np.full(nd, -1), l_lead]), _width(self.n_leads)),
            "contact_id": _Id("C", np.concatenate([contact, neg]), self.cw),
            "account_id": _Id("A", np.concatenate([acc, neg]), self.aw),
            "duration_minutes": _Int(duration),
            "notes": _Cat(NOTES, notes),
        }

    # ---- orders, invoices, wallet

    def _orders(self) -> None:
        rng = self.rng
        won = np.flatnonzero(self.won)
        o_deal, o_b, o_first = [], [], []
        cur = self.closed_b[won] + rng.uniform(1, 10, len(won))
        idx = np.arange(len(won))
        first = True
        for _ in range(13):
            ok = cur < self.asof_b
            idx, cur = idx[ok], cur[ok]
            if not len(idx):
                break
            o_deal.append(won[idx])
            o_b.append(cur)
            o_first.append(np.full(len(idx), first))
            first = False
            cur = cur + np.exp(rng.normal(math.log(45), 0.5, len(idx)))
        o_deal = np.concatenate(o_deal) if o_deal else np.zeros(0, np.int64)
        o_b = np.concatenate(o_b) if o_b else np.zeros(0)
        o_first = np.concatenate(o_first) if o_first else np.zeros(0, bool)
        o_at = _cal(o_b)
        keep = o_at < self.asof_s
        order = np.flatnonzero(keep)
        order = order[np.argsort(o_at[order], kind="stable")]  # order ids in time order
        o_deal, o_b, o_first, o_at = o_deal[order], o_b[order], o_first[order], o_at[order]
        n_orders = len(o_deal)
        o_acc = self.deal_acc[o_deal]
        n_lines = 1 + _pick(rng, (0.5, 0.3, 0.2), n_orders)
        l_ord, j = _expand(n_lines)
        nl = len(l_ord)
        acc = o_acc[l_ord]
        line1 = j == 0
        prod = np.where(line1, self.deal_prod[o_deal[l_ord]], _pick(rng, self.prod_weight, nl))
        base = self.deal_qty[o_deal[l_ord]]
        repeat_q = np.maximum(1, np.round(base * np.exp(rng.normal(-0.3, 0.4, nl))))
        extra_q = np.maximum(1, np.round(np.exp(rng.normal(math.log(5), 0.8, nl))))
        qty = np.where(line1, np.where(o_first[l_ord], base, repeat_q), extra_q).astype(np.int64)
        unit = np.round(self.prod_price[prod] * (1 - self.acc_discount[acc])).astype(np.int64)
        rel = self.acc_reliability[acc]
        committed = rng.random(nl) < 0.6
        planned = np.round(qty / (rel + (1 - rel) * rng.random(nl))).astype(np.int64)
        promised_b = o_b[l_ord] + rng.uniform(5, 20, nl)
        taken_b = np.where(committed, promised_b + (1 - rel) * rng.exponential(15, nl) + rng.random(nl) * 0.5,
                           o_b[l_ord] + rng.uniform(2, 10, nl))
        taken_s = _cal(taken_b)
        taken_s = np.where(taken_s < self.asof_s, taken_s, NULL)
        self.n_lines = nl
        self.orders_cols = {
            "order_id": _Id("O", l_ord, _width(n_orders)),
            "line_no": _Int(j + 1),
            "account_id": _Id("A", acc, self.aw),
            "product_id": _Id("P", prod, 3),
            "ordered_at": _Ts(o_at[l_ord]),
            "quantity": _Dec(qty * 100),
            "unit_price": _Dec(unit),
            "unit_cost": _Dec(self.prod_cost[prod]),
            "committed_quantity": _Dec(np.where(committed, np.maximum(planned, qty) * 100, NULL)),
            "promised_at": _Ts(np.where(committed, _cal(promised_b), NULL)),
            "taken_at": _Ts(taken_s),
        }
        # invoices: one per order
        line_total = qty * unit
        starts = np.cumsum(n_lines) - n_lines
        amount = np.add.reduceat(line_total, starts) if nl else np.zeros(0, np.int64)
        issued_s = _cal(o_b + rng.uniform(0.2, 3, n_orders))
        inv = np.flatnonzero(issued_s < self.asof_s)
        issued_s, amount, i_acc = issued_s[inv], amount[inv], o_acc[inv]
        due_s = issued_s + self.acc_terms[i_acc] * _DAY
        delay = np.round(self.acc_pay_mu[i_acc] + rng.normal(0, 6, len(inv))).astype(np.int64)
        paid_s = _cal(_bus((due_s // _DAY + delay) * _DAY) + rng.random(len(inv)))  # in office hours
        paid_s = np.maximum(paid_s, issued_s + 3600)
        bad = rng.random(len(inv)) < 0.015
        paid_s = np.where(bad | (paid_s >= self.asof_s), NULL, paid_s)
        self.n_invoices = len(inv)
        self.invoices_cols = {
            "invoice_id": _Id("I", np.arange(len(inv)), _width(len(inv))),
            "account_id": _Id("A", i_acc, self.aw),
            "issued_at": _Ts(issued_s),
            "due_at": _Ts(due_s),
            "amount": _Dec(amount),
            "paid_at": _Ts(paid_s),
        }
        # wallet: potential spend per account and category, at least what we already sell there
        ncat = len(CATEGORIES)
        recent = o_at[l_ord] >= self.asof_s - 365 * _DAY
        key = acc * ncat + self.prod_cat[prod]
        spend = np.bincount(key[recent], weights=line_total[recent], minlength=self.n_acc * ncat)
        bought = np.bincount(key, minlength=self.n_acc * ncat) > 0
        share = np.tile(np.array(CATEGORY_SHARE), self.n_acc)
        revenue = np.repeat(self.acc_revenue, ncat)
        potential = revenue * share * np.exp(rng.normal(0, 0.5, self.n_acc * ncat))
        potential = np.maximum(potential, spend * rng.uniform(1.1, 3.0, self.n_acc * ncat))
        potential = (np.ceil(potential / 100_000) * 100_000).astype(np.int64)  # whole thousands
        include = bought | (rng.random(self.n_acc * ncat) < 0.6)
        include &= potential > 0
        w = np.flatnonzero(include)
        mostly_us = spend[w] >= 0.5 * potential[w]
        incumbent = np.where(~mostly_us & (rng.random(len(w)) < 0.7), rng.integers(0, len(COMPETITORS), len(w)), -1)
        self.n_wallet = len(w)
        self.wallet_cols = {
            "account_id": _Id("A", w // ncat, self.aw),
            "category": _Cat(CATEGORIES, w % ncat),
            "potential_annual_spend": _Dec(potential[w]),
            "incumbent": _Cat(COMPETITORS, incumbent),
        }

    # ---- quotas

    def _quotas(self) -> None:
        rng = self.rng
        asof_day = self.asof_s // _DAY
        y, m, _ = _civil(np.array([asof_day - WINDOW_DAYS, asof_day]))
        q0, q1 = y[0] * 4 + (m[0] - 1) // 3, y[1] * 4 + (m[1] - 1) // 3
        quarters = np.arange(q0, q1 + 1)
        qy, qm = quarters // 4, quarters % 4 * 3 + 1
        start = _days_from_civil(qy, qm, np.ones_like(qm))
        end = _month_end(start, quarter=True)
        won_total = self.deal_amount[self.won].sum()
        per = won_total / max(1, self.n_reps * (WINDOW_DAYS / 91.3)) * 1.25
        nq = len(quarters)
        factor = np.exp(rng.normal(0, 0.15, self.n_reps))
        rep_q = np.maximum(100_000, np.round(per * np.outer(factor, np.ones(nq)) / 100_000) * 100_000).astype(np.int64)
        team_q = np.zeros((self.n_teams, nq), np.int64)
        np.add.at(team_q, self.rep_team, rep_q)
        owners = [f"U{u:0{self.uw}d}" for u in self.rep_user] + [f"team:{t}" for t in self.team_names]
        amount = np.concatenate([rep_q, team_q]).ravel()
        owner = np.repeat(np.arange(len(owners)), nq)
        self.n_quotas = len(amount)
        self.quotas_cols = {
            "owner_id": _Cat(owners, owner),
            "period_start": _Date(np.tile(start, len(owners))),
            "period_end": _Date(np.tile(end, len(owners))),
            "amount": _Dec(amount),
        }

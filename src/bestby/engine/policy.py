"""The clearance policy: when an open deal is aging, expired or stalled (DESIGN.md, ideas 1 and 2).

One :class:`ClearancePolicy` holds every threshold of one pipeline; a team can
give each pipeline its own (``freshness`` accepts one policy for all pipelines,
or a mapping ``{pipeline: policy}``). The defaults follow DESIGN.md:

``quantile`` = 0.8
    Best-by durations are the 0.8 quantile of the team's own history ("if 80%
    of your sales close in 75 days, why is a deal still here on day 121?").

``aging_fraction`` = 0.75
    A deal is *aging* once it has used more than three quarters of its best-by
    (stage or whole cycle). That leaves a warning window of a quarter of the
    shelf life before it expires: for a 24-day Proposal shelf life, six days,
    about one ten-business-day cadence on typical stages. Earlier (say 0.5) would
    flag most healthy deals, since half the deals that move on are still in the
    stage at half the 0.8 quantile; later (0.9) leaves no time to act.

``expired_idle_days`` = 30
    The clock alone does not kill a deal that is being worked ("progress, not
    time, kills deals"): a deal past its best-by is *expired* only when it has
    also had no real touch for strictly more than 30 days (a never-touched
    deal counts from its creation). Past its best-by but touched within the
    month, it is *aging* (overdue, still worked). Why 30: a month is two
    ten-business-day cadences, so a deal anyone works has a touch inside it;
    and by the inspection paradox about a fifth of the deals that will move on
    sit past a stage's 0.8 quantile at any moment, so the clock alone would
    put every one of them on the clearance list. Set it to 0 to expire on the
    clock alone.

``no_touch_days`` = 90
    "No touch for a quarter" is a stall signal. Strictly more than 90 days
    since the last real touch (``social`` is not a touch) counts: a touch
    exactly 90 days ago is still inside the quarter.

``stalled_after_pushes`` = 2
    "Close date pushed again and again": 2 or more pushes (a close-date change
    to a later date) *since the deal entered its current stage* is a stall
    signal; one push is ordinary re-planning, and pushes while the deal keeps
    moving through stages are re-planning too (the date follows the progress).
    A push made at the same moment as the stage entry counts.

``close_date_grace_days`` = 0
    An expected close date that is more than this many days in the past makes
    the deal at least *aging* (not stalled by itself: the date may just not
    have been updated).

Close date parked at period end (no threshold)
    A close date that a push moved onto the last day of a month (a quarter's
    end is a month's end) is "parked": a placeholder rather than a plan. It
    makes the deal at least *aging* with reason ``close_date_parked``; it is
    not a stall by itself, because honest plans also target a month end (half
    a team's deals may close in the last week of a quarter). The initial date
    set at creation is not parking.

``first_meeting_stage`` / ``second_meeting_stage`` = "1st meeting" / "2nd meeting"
``no_second_meeting_days`` = None (learned; 30 without history)
    "A first meeting that never got a second": the deal entered the first
    meeting stage strictly more than this many days ago, and since then it has neither entered the
    second meeting stage, nor reached a stage at or after the second meeting
    stage's position, nor logged a ``meeting`` touch more than a day after the
    first meeting. Pipelines without these stage names never fire this signal.
    None (the default) learns the gap from the team's history: the policy's
    ``quantile`` of the days from entering the first meeting stage to entering
    the second meeting stage, over the pipeline's deals that did both (the
    last entry of each, the second after the first), when at least
    ``MIN_SECOND_MEETING_HISTORY`` = 20 deals did (fewer make a 0.8 quantile
    rest on at most four values above it); otherwise 30 days (a month: twice
    the usual ten-business-day cadence). A number fixes the gap.

``win_probability_floor`` = 0.05
    When win probabilities are given, a deal whose chance is strictly below 5%
    is stalled: at that rate it inflates coverage twentyfold.

How best-by dates are learned (see :mod:`bestby.engine.shelf_life`)
    ``segment`` = None: one shelf life per pipeline and stage; or one of
    ``owner``, ``team``, ``product``, ``source``, ``amount_band`` to give
    each segment its own (small segments fall back to the pipeline's).
    ``lookback_days`` = None: all history before ``as_of``; a number keeps
    only figures that ended within that many days before ``as_of`` (a team
    whose process changed learns from the recent past).
    ``business_days`` = False: stage and cycle ages and shelf lives in
    calendar days; True counts Monday to Friday only (the other thresholds,
    touches and meetings, stay in calendar days: a buyer's silence runs on
    weekends too).

Every field is validated on construction; a bad value raises ``ValueError``
naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DEFAULT_NO_SECOND_MEETING_DAYS", "MIN_SECOND_MEETING_HISTORY", "ClearancePolicy"]

DEFAULT_NO_SECOND_MEETING_DAYS = 30.0  # without enough history (see the module docstring)
#: the most days a day-valued setting may hold: a century. ``as_of - timedelta(days=...)`` must stay a
#: date (a lookback of 1e308 days overflowed it on the shelf-life page and in ``bestby refresh``)
MAX_DAYS = 36_500
#: the most close-date pushes ``stalled_after_pushes`` may count (far above any deal; a bounded integer)
MAX_PUSHES = 10_000
MIN_SECOND_MEETING_HISTORY = 20


@dataclass(frozen=True)
class ClearancePolicy:
    """Thresholds that decide a deal's freshness state, for one pipeline."""

    quantile: float = 0.8
    aging_fraction: float = 0.75
    expired_idle_days: float = 30
    no_touch_days: float = 90
    stalled_after_pushes: int = 2
    close_date_grace_days: float = 0
    first_meeting_stage: str = "1st meeting"
    second_meeting_stage: str = "2nd meeting"
    no_second_meeting_days: float | None = None
    win_probability_floor: float = 0.05
    segment: str | None = None
    lookback_days: float | None = None
    business_days: bool = False

    def __post_init__(self) -> None:
        def number(name: str) -> float:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise ValueError(f"{name} must be a number, got {value!r}")
            return value

        if not 0.0 < number("quantile") <= 1.0:
            raise ValueError(f"quantile must be in (0, 1], got {self.quantile}")
        if not 0.0 < number("aging_fraction") <= 1.0:
            raise ValueError(f"aging_fraction must be in (0, 1], got {self.aging_fraction}")
        names = ["no_touch_days", "close_date_grace_days", "expired_idle_days"]
        if self.no_second_meeting_days is not None:
            names.append("no_second_meeting_days")
        for name in names:
            if number(name) < 0 or math.isinf(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")
            if getattr(self, name) > MAX_DAYS:
                raise ValueError(f"{name} must be at most {MAX_DAYS} days, got {getattr(self, name):g}")
        pushes = self.stalled_after_pushes
        if isinstance(pushes, bool) or not isinstance(pushes, int) or pushes < 1:
            raise ValueError(f"stalled_after_pushes must be an integer >= 1, got {pushes!r}")
        if pushes > MAX_PUSHES:
            raise ValueError(f"stalled_after_pushes must be at most {MAX_PUSHES}, got {pushes}")
        if not 0.0 <= number("win_probability_floor") <= 1.0:
            raise ValueError(f"win_probability_floor must be in [0, 1], got {self.win_probability_floor}")
        for name in ("first_meeting_stage", "second_meeting_stage"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty stage name, got {value!r}")
        segments = ("owner", "team", "product", "source", "amount_band")  # shelf_life.SEGMENTS
        if self.segment is not None and self.segment not in segments:
            raise ValueError(f"segment must be one of {', '.join(segments)} or None, got {self.segment!r}")
        if self.lookback_days is not None and (number("lookback_days") <= 0 or math.isinf(self.lookback_days)):
            raise ValueError(f"lookback_days must be a finite number > 0 or None, got {self.lookback_days}")
        if self.lookback_days is not None and self.lookback_days > MAX_DAYS:
            raise ValueError(f"lookback_days must be at most {MAX_DAYS} days, got {self.lookback_days:g}")
        if not isinstance(self.business_days, bool):
            raise ValueError(f"business_days must be true or false, got {self.business_days!r}")
        if self.first_meeting_stage == self.second_meeting_stage:
            raise ValueError("second_meeting_stage must differ from first_meeting_stage")


# ---------------------------------------------------------------- policies from a file

FIELDS = tuple(ClearancePolicy.__dataclass_fields__)


def policies_from_mapping(data: dict, *, source: str = "policy") -> ClearancePolicy | dict[str, ClearancePolicy]:
    """Build the policies of a settings mapping: ``{"default": {...}, "pipelines": {NAME: {...}}}``.

    ``default`` overrides the built-in defaults for every pipeline; each entry
    of ``pipelines`` overrides ``default`` for that pipeline. Without
    ``pipelines`` one policy is returned, else a :class:`PolicyMap` (a
    pipeline not named in it gets ``default``). Errors name the source, the
    section and the setting; nothing is half-applied.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a table with [default] and [pipelines.NAME] sections")
    unknown = set(data) - {"default", "pipelines"}
    if unknown:
        raise ValueError(f"{source}: unknown section {sorted(unknown)[0]!r} (known: default, pipelines)")

    def build(section: str, values, base: dict) -> tuple[ClearancePolicy, dict]:
        if not isinstance(values, dict):
            raise ValueError(f"{source}: [{section}] must be a table of settings")
        bad = set(values) - set(FIELDS)
        if bad:
            raise ValueError(f"{source}: [{section}] unknown setting {sorted(bad)[0]!r} (known: {', '.join(FIELDS)})")
        merged = {**base, **values}
        try:
            return ClearancePolicy(**merged), merged
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: [{section}] {exc}") from None

    default, base = build("default", data.get("default", {}), {})
    pipelines = data.get("pipelines")
    if pipelines is None:
        return default
    if not isinstance(pipelines, dict):
        raise ValueError(f"{source}: [pipelines] must be a table of [pipelines.NAME] sections")
    out = {name: build(f"pipelines.{name}", values, base)[0] for name, values in pipelines.items()}
    return PolicyMap(out, default)


class PolicyMap(dict):
    """``{pipeline: policy}`` with a default for every pipeline not named (a ``Mapping`` for freshness)."""

    def __init__(self, named: dict[str, ClearancePolicy], default: ClearancePolicy):
        super().__init__(named)
        self.default = default

    def get(self, key, fallback=None):  # noqa: D401 - dict API
        return super().get(key, self.default if fallback is None else fallback)

    def values(self):
        return [*super().values(), self.default]


def load_policy(path) -> ClearancePolicy | dict[str, ClearancePolicy]:
    """Read policies from a TOML or JSON file (by suffix) with :func:`policies_from_mapping`."""
    import json
    import tomllib
    from pathlib import Path

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the policy file ({exc.strerror})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}") from None
    return policies_from_mapping(data, source=path.name)

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

``no_touch_days`` = 90
    "No touch for a quarter" is a stall signal. Strictly more than 90 days
    since the last real touch (``social`` is not a touch) counts: a touch
    exactly 90 days ago is still inside the quarter.

``stalled_after_pushes`` = 2
    "Close date pushed again and again": 2 or more pushes (a close-date change
    to a later date) is a stall signal; one push is ordinary re-planning.

``close_date_grace_days`` = 0
    An expected close date that is more than this many days in the past makes
    the deal at least *aging* (not stalled by itself: the date may just not
    have been updated).

``first_meeting_stage`` / ``second_meeting_stage`` = "1st meeting" / "2nd meeting"
``no_second_meeting_days`` = 30
    "A first meeting that never got a second": the deal entered the first
    meeting stage strictly more than 30 days ago (a month: twice the usual
    ten-business-day cadence), and since then it has neither entered the
    second meeting stage, nor reached a stage at or after the second meeting
    stage's position, nor logged a ``meeting`` touch more than a day after the
    first meeting. Pipelines without these stage names never fire this signal.

``win_probability_floor`` = 0.05
    When win probabilities are given, a deal whose chance is strictly below 5%
    is stalled: at that rate it inflates coverage twentyfold.

Every field is validated on construction; a bad value raises ``ValueError``
naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ClearancePolicy"]


@dataclass(frozen=True)
class ClearancePolicy:
    """Thresholds that decide a deal's freshness state, for one pipeline."""

    quantile: float = 0.8
    aging_fraction: float = 0.75
    no_touch_days: float = 90
    stalled_after_pushes: int = 2
    close_date_grace_days: float = 0
    first_meeting_stage: str = "1st meeting"
    second_meeting_stage: str = "2nd meeting"
    no_second_meeting_days: float = 30
    win_probability_floor: float = 0.05

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
        for name in ("no_touch_days", "no_second_meeting_days", "close_date_grace_days"):
            if number(name) < 0 or math.isinf(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")
        pushes = self.stalled_after_pushes
        if isinstance(pushes, bool) or not isinstance(pushes, int) or pushes < 1:
            raise ValueError(f"stalled_after_pushes must be an integer >= 1, got {pushes!r}")
        if not 0.0 <= number("win_probability_floor") <= 1.0:
            raise ValueError(f"win_probability_floor must be in [0, 1], got {self.win_probability_floor}")
        for name in ("first_meeting_stage", "second_meeting_stage"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty stage name, got {value!r}")
        if self.first_meeting_stage == self.second_meeting_stage:
            raise ValueError("second_meeting_stage must differ from first_meeting_stage")

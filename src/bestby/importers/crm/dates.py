"""Dates and timestamps as CRM exports write them, with day/month order detected or given.

Accepted (the time part is optional everywhere; seconds and fractions too):

* ISO 8601: ``2024-03-05``, ``2024-03-05T14:02:00.000Z``, ``2024-03-05 14:02``,
  ``2024-03-05T14:02:00+01:00`` (what Salesforce's data export, HubSpot and
  Pipedrive write);
* slashes: ``05/03/2024`` or ``03/05/2024`` (spreadsheet and report exports),
  in the order given by ``--date-format`` (``DD/MM/YYYY`` or ``MM/DD/YYYY``) or
  detected from the data: a first field above 12 proves day-first, a second
  field above 12 proves month-first. Both proofs in one import is an error (two
  formats are mixed); neither, while slash dates exist, is an error too: every
  date could be read both ways, and a wrong guess would silently move every
  deal by months. A 12-hour clock (``2:05 PM``) is accepted after a slash date;
* dots: ``05.03.2024`` is always day-first (no locale writes month.day.year).

A timestamp without a zone is local time of the workspace (``zone``): every
parsed timestamp is zone-aware, so times from files that write zones and
files that don't compare correctly. Parsed values are cached: exports repeat
the same dates a lot.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone, tzinfo

FORMATS = {"DD/MM/YYYY": "dmy", "MM/DD/YYYY": "mdy", "YYYY-MM-DD": "ymd"}
_SLASH = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?")


class DateOrderError(ValueError):
    pass


def format_order(text: str | None) -> str | None:
    """The order named by ``--date-format`` (None: detect); ValueError names the accepted values."""
    if text is None:
        return None
    order = FORMATS.get(text.strip().upper())
    if order is None:
        raise ValueError(f"{text!r} is not a date format bestby reads; use one of {', '.join(FORMATS)}")
    return order


class Dates:
    """Parse one import's dates. Call ``observe`` on every date column first when no order is given."""

    def __init__(self, order: str | None = None, zone: tzinfo = timezone.utc) -> None:
        self.order = order
        self.zone = zone
        self.given = order is not None
        self.evidence: dict[str, str] = {}   # "dmy"/"mdy" -> an example cell with its place
        self.ambiguous: str | None = None
        self._ts_cache: dict[str, datetime] = {}

    def observe(self, cells, where: str) -> None:
        if self.given:
            return
        for cell in cells:
            if not cell or "/" not in cell:
                continue
            m = _SLASH.match(cell.strip())
            if not m:
                continue
            a, b = int(m.group(1)), int(m.group(2))
            if a > 12 and "dmy" not in self.evidence:
                self.evidence["dmy"] = f"{cell!r} in {where}"
            elif b > 12 and "mdy" not in self.evidence:
                self.evidence["mdy"] = f"{cell!r} in {where}"
            elif self.ambiguous is None:
                self.ambiguous = f"{cell!r} in {where}"

    def settle(self) -> None:
        """Fix the day/month order from what was observed; DateOrderError says what to pass instead."""
        if self.given:
            return
        if len(self.evidence) == 2:
            raise DateOrderError(
                f"dates are written day-first ({self.evidence['dmy']}) and month-first ({self.evidence['mdy']}); "
                "export them in one format, or pass --date-format")
        if self.evidence:
            self.order = next(iter(self.evidence))
        elif self.ambiguous:
            raise DateOrderError(
                f"dates such as {self.ambiguous} read both as day/month and month/day; "
                "pass --date-format DD/MM/YYYY or --date-format MM/DD/YYYY")

    def ts(self, text: str) -> datetime:
        """A zone-aware timestamp (no zone written: workspace time); ValueError says what was expected."""
        hit = self._ts_cache.get(text)
        if hit is not None:
            return hit
        value = self._parse(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        if len(self._ts_cache) < 500_000:
            self._ts_cache[text] = value
        return value

    def ts_column(self, cells: list[str]) -> list[datetime | None]:
        """``ts`` of every cell ('' gives None); ValueError (from the first bad cell) as ``ts``.

        A column of ISO timestamps is parsed in one pass (a million cells in a
        second); any other column cell by cell, with the cache.
        """
        fromiso = datetime.fromisoformat
        try:
            values = [fromiso(c) if c else None for c in cells]
        except ValueError:
            return [self.ts(c) if c else None for c in cells]
        zone = self.zone
        return [v if v is None or v.tzinfo is not None else v.replace(tzinfo=zone) for v in values]

    def day_column(self, cells: list[str]) -> list[date | None]:
        """``day`` of every cell ('' gives None); a column repeats few distinct dates, each parsed once."""
        known = {c: self.day(c) for c in set(cells) if c}
        return [known[c] if c else None for c in cells]

    def day(self, text: str) -> date:
        """The calendar date as written (a time and zone after it are ignored)."""
        return self._parse(text).date()

    def _parse(self, text: str) -> datetime:
        t = text.strip()
        if len(t) >= 10 and t[4] == "-":
            try:
                return datetime.fromisoformat(t)
            except ValueError:
                pass
        m = _SLASH.fullmatch(t)
        if m:
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            dot = t[m.end(1)] == "."
            order = "dmy" if dot else self.order
            if order is None:
                order = "dmy" if a > 12 else "mdy" if b > 12 else None
            if order is not None:
                day, month = (a, b) if order == "dmy" else (b, a)
                hour = int(m.group(4) or 0)
                if m.group(7):
                    if not 1 <= hour <= 12:
                        raise ValueError(f"{text!r} has hour {hour} with AM/PM")
                    hour = hour % 12 + (12 if m.group(7).lower() == "pm" else 0)
                try:
                    return datetime(y, month, day, hour, int(m.group(5) or 0), int(m.group(6) or 0))
                except ValueError:
                    pass
        fmt = {"dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY"}.get(self.order or "", "YYYY-MM-DD")
        raise ValueError(f"{text!r} is not a date bestby reads; expected {fmt} (optionally with a time)"
                         + (" or ISO 8601 like 2024-03-05T14:02:00" if fmt != "YYYY-MM-DD" else ""))

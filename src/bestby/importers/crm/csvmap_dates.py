"""The ``date_format`` of a CSV mapping: one of bestby's date orders, or a pattern read exactly as written.

* ``DD/MM/YYYY``, ``MM/DD/YYYY`` or ``YYYY-MM-DD`` (any case) are the orders of
  ``--date-format`` and are read by ``crm.dates.Dates``: the time is optional,
  a 12-hour clock (``2:05 PM``) is accepted, dots work like slashes, and ISO
  8601 cells are accepted too.
* Any other text is a *pattern* made of the tokens ``YYYY`` (or ``YY``),
  ``MM``, ``DD`` (each exactly once) and optionally ``hh`` (or ``HH``, 24-hour),
  ``mm``, ``ss``, separated by any of ``/ . - : T ,`` and spaces:
  ``DD-MM-YYYY``, ``DD.MM.YY``, ``YYYY/MM/DD hh:mm``. Day and month may have
  one or two digits. A pattern without a time still accepts a time after the
  date (`` 14:02`` or ``T14:02:00``) as exports add one to some cells; a
  pattern with a time requires it. A cell in ISO 8601 (``2024-03-05T14:02``)
  is accepted whatever the pattern, as it cannot be misread.
* ``YY`` is read as POSIX ``strptime`` reads ``%y``: 69 to 99 are 1969 to 1999,
  00 to 68 are 2000 to 2068 (the same pivot every spreadsheet import has used,
  so that a re-export from the same tool reads back alike).

Timestamps without a zone are workspace time and come back zone-aware, as
``crm.dates`` gives them. A cell that does not match raises ``ValueError``
naming the pattern.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone, tzinfo

from bestby.importers.crm.dates import FORMATS, Dates

_TOKENS = (("YYYY", r"(?P<Y>\d{4})"), ("YY", r"(?P<y>\d{2})"), ("MM", r"(?P<M>\d{1,2})"), ("DD", r"(?P<D>\d{1,2})"),
           ("hh", r"(?P<h>\d{1,2})"), ("HH", r"(?P<h>\d{1,2})"), ("mm", r"(?P<m>\d{2})"), ("ss", r"(?P<s>\d{2})"))
_SEPARATORS = "/.-:T,"
_TIME = r"(?:[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?)?"
#: POSIX: two-digit years below this are 20xx, the others 19xx
YY_PIVOT = 69


class PatternDates:
    """Read dates written as one pattern (see the module doc); ``ts`` and ``day`` like ``Dates``."""

    def __init__(self, pattern: str, zone: tzinfo = timezone.utc) -> None:
        self.pattern = pattern
        self.zone = zone
        parts, seen, i = [], [], 0
        while i < len(pattern):
            for token, regex in _TOKENS:
                if pattern.startswith(token, i):
                    group = token[0].upper() if token in ("hh", "HH") else token
                    if group in seen or (group in ("YYYY", "YY") and {"YYYY", "YY"} & set(seen)):
                        raise ValueError(f"{pattern!r} has the {token} part twice")
                    seen.append(group)
                    parts.append(regex)
                    i += len(token)
                    break
            else:
                ch = pattern[i]
                if ch.isspace():
                    parts.append(r"\s+")
                elif ch in _SEPARATORS:
                    parts.append(re.escape(ch))
                else:
                    raise ValueError(f"{pattern!r} is not a date format bestby reads: {ch!r} at position {i + 1} is "
                                     f"neither a part (YYYY, YY, MM, DD, hh, mm, ss) nor a separator; use one of "
                                     f"{', '.join(FORMATS)} or a pattern such as DD-MM-YYYY or DD.MM.YY hh:mm")
                i += 1
        missing = [t for t in ("year (YYYY or YY)", "MM", "DD")
                   if not ({"YYYY", "YY"} & set(seen) if t.startswith("year") else t in seen)]
        if missing:
            raise ValueError(f"{pattern!r} is not a date format bestby reads: it has no {', '.join(missing)}; use one of "
                             f"{', '.join(FORMATS)} or a pattern such as DD-MM-YYYY or DD.MM.YY hh:mm")
        if ("H" in seen) != ("mm" in seen) or ("ss" in seen and "mm" not in seen):
            raise ValueError(f"{pattern!r}: a time is written hh:mm or hh:mm:ss")
        self._regex = re.compile("".join(parts) + ("" if "H" in seen else _TIME))

    def ts(self, text: str) -> datetime:
        """A zone-aware timestamp (no zone written: workspace time), as ``Dates.ts``."""
        value = self._parse(text)
        return value if value.tzinfo is not None else value.replace(tzinfo=self.zone)

    def day(self, text: str) -> date:
        """The calendar date as written."""
        return self._parse(text).date()

    def _parse(self, text: str) -> datetime:
        t = text.strip()
        m = self._regex.fullmatch(t)
        if m is None:
            if len(t) >= 10 and t[4] == "-":
                try:
                    return datetime.fromisoformat(t)
                except ValueError:
                    pass
            raise ValueError(f"{text!r} is not a date written {self.pattern} (the mapping's date_format) "
                             "nor ISO 8601 like 2024-03-05T14:02:00")
        g = m.groupdict()
        year = int(g["Y"]) if g.get("Y") else int(g["y"]) + (2000 if int(g["y"]) < YY_PIVOT else 1900)
        try:
            return datetime(year, int(g["M"]), int(g["D"]), int(g.get("h") or 0), int(g.get("m") or 0),
                            int(g.get("s") or 0))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a date ({exc}; the mapping's date_format is {self.pattern})") from None


def reader_for(date_format: str, zone: tzinfo = timezone.utc) -> Dates | PatternDates:
    """The reader of a mapping's ``date_format`` (naive times in ``zone``); ValueError says what is wrong with it."""
    order = FORMATS.get(date_format.strip().upper())
    return Dates(order, zone) if order is not None else PatternDates(date_format.strip(), zone)

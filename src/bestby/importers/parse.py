"""Cell parsers: turn one cell of a FORMAT.md file into a typed value.

Each parser takes a non-empty cell (a string from CSV, or an already typed
value from Parquet) and returns the value, or raises ``ValueError`` with a
message a person can act on. Empty cells never reach a parser: they are NULL.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from bestby.format import Column

_INT = re.compile(r"[+-]?\d+")


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if not _INT.fullmatch(text):
        raise ValueError(f"{text!r} is not a whole number")
    return int(text)


def parse_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = Decimal(str(value))
    else:
        text = str(value).strip()
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number; write it like 1234.50 (dot for decimals, no thousands separator)") from None
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def parse_float(value: Any) -> float:
    try:
        result = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(result):
        raise ValueError(f"{value!r} is not a finite number")
    return result


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if len(text) > 10 and text[10] in "T ":
            # a timestamp at midnight in a date column is still that date
            parsed = datetime.fromisoformat(text)
            if parsed.time() != datetime.min.time():
                raise ValueError
            return parsed.date()
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date; write it like 2024-03-05") from None


def make_timestamp_parser(zone: tzinfo) -> Callable[[Any], datetime]:
    """Return a parser of ISO 8601 timestamps; naive ones (and bare dates) are in ``zone``."""

    utc = timezone.utc
    zone_is_utc = getattr(zone, "key", None) in ("UTC", "Etc/UTC") or zone is utc
    fromisoformat = datetime.fromisoformat

    def parse_timestamp(value: Any) -> datetime:
        if type(value) is str and zone_is_utc:
            # the common case, a million times per import: no strip, no zone arithmetic
            try:
                parsed = fromisoformat(value)
            except ValueError:
                pass
            else:
                if parsed.tzinfo is None:
                    return parsed.replace(tzinfo=utc)
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime(value.year, value.month, value.day)
        else:
            text = str(value).strip()
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"{text!r} is not an ISO 8601 timestamp; write it like 2024-03-05T14:02:00, "
                    "2024-03-05T14:02:00+01:00 or 2024-03-05"
                ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        try:
            return parsed.astimezone(timezone.utc)
        except OverflowError:  # e.g. 0001-01-01 east of UTC: the instant is before year 1
            raise ValueError(f"{value!r} is out of the range of timestamps (years 1 to 9999 in UTC)") from None

    return parse_timestamp


def parse_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def make_enum_parser(choices: tuple[str, ...]) -> Callable[[Any], str]:
    allowed = set(choices)
    listing = ", ".join(choices)

    def parse_enum(value: Any) -> str:
        text = str(value).strip()
        if text in allowed:
            return text
        lowered = text.lower()
        if lowered in allowed:
            return lowered
        raise ValueError(f"{text!r} is not one of: {listing}")

    parse_enum.allowed = frozenset(allowed)  # lets a whole column skip the call for valid cells
    return parse_enum


def parser_for(column: Column, zone: tzinfo) -> Callable[[Any], Any]:
    """The parser of a column's type (see bestby.format)."""
    kind = column.type
    if kind in ("id", "str") or kind.startswith("ref:"):
        return parse_str
    if kind == "int":
        return parse_int
    if kind == "decimal":
        return parse_decimal
    if kind == "float":
        return parse_float
    if kind == "date":
        return parse_date
    if kind == "ts":
        return make_timestamp_parser(zone)
    if kind.startswith("enum:"):
        return make_enum_parser(column.choices)
    raise AssertionError(f"unknown column type {kind}")

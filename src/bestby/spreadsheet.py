"""Cells of files meant for spreadsheets: text a spreadsheet would run as a formula is written as plain text.

A rep types a deal name or a clear reason; a manager downloads the open deals
or the decisions and opens them in Excel, LibreOffice or Google Sheets, which
read a cell that starts with ``=`` (or ``+``, ``-``, ``@``) as a formula and
run it (``=HYPERLINK(...)``, ``=WEBSERVICE(...)``, DDE). Every writer of such
a file goes through :func:`writer` (``/export/deals.csv``, the decisions log
and the Salesforce, HubSpot and Pipedrive bulk-update files, from the web
and from ``bestby export decisions``).

The rule (OWASP, "CSV Injection")
    A text cell whose first character is one of :data:`TRIGGERS` (``=``,
    ``+``, ``-``, ``@``, tab, carriage return) gets a single quote in front
    of it. Spreadsheets read a leading ``'`` as "this cell is text" and do
    not show it; a program reading the file sees it, which is the price.
    Quoting with the ``csv`` module (RFC 4180) is kept as it is: it makes
    the file parse, it does not stop a formula.

Numbers stay numbers
    A negative amount is not a formula, and one that gained a quote would no
    longer add up. So a cell given as a number (``int``, ``float``,
    ``Decimal``; not a ``bool``) is written as it is, and so is text that is
    exactly a plain decimal number, such as ``-12.50`` (:data:`PLAIN_NUMBER`:
    an optional minus, digits, optionally a point and digits): a spreadsheet
    reads both as that number and never as a formula. Anything else that
    starts with a trigger is neutralised, ``-1+2``, ``-A1`` and ``+5``
    included.

Not for the FORMAT.md export
    ``bestby export DIR`` (:mod:`bestby.exporters`) is an interchange format
    read back by ``bestby import canonical``: it keeps every value exactly
    (import → export → import gives identical files), so it does not use
    this module. Open it in a spreadsheet only with the cells read as text.

Why not a library: defusedcsv (a drop-in ``csv`` module) quotes ``|`` and
``%`` as well and rewrites every ``|`` inside such a cell as ``\\|``, but
does not treat tab and carriage return, nor tell a negative number from a
formula; the rule above is a few lines and is tested cell by cell.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from typing import Any, Iterable

__all__ = ["PLAIN_NUMBER", "TRIGGERS", "neutralise", "writer"]

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise(value: Any) -> Any:
    """The cell to write for ``value``: a number as it is, text with a formula trigger first behind a ``'``."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(TRIGGERS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Writer:
    """A ``csv.writer`` whose every cell goes through :func:`neutralise`."""

    def __init__(self, fh, **options) -> None:
        self._out = csv.writer(fh, **options)

    def writerow(self, row: Iterable[Any]):
        return self._out.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(fh, *, lineterminator: str = "\n") -> _Writer:
    """A CSV writer for a file meant for a spreadsheet (header row and cells neutralised; LF line ends)."""
    return _Writer(fh, lineterminator=lineterminator)

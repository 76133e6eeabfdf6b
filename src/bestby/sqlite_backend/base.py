"""Django's SQLite backend, with one change: a stored number its column cannot hold is read, not raised.

SQLite keeps whatever it is given: a ``DECIMAL(18, 2)`` column stores
``1e30`` as a float. Django's SQLite converter quantizes every value read to
the column's places within ``max_digits``, and raises ``InvalidOperation`` for
such a row, so one bad amount (written before bestby checked its bounds, or
by hand in SQL) made the board, the clearance review, the deal page, the
admin and the API answer 500 for everyone. Here the converter falls back to
the value as stored (a Decimal of its 15 significant digits, which is what
SQLite kept), so every page renders, and :mod:`bestby.bounds` marks the value
invalid where it is shown (``DecimalBound.holds``). A value that is not a
number at all (text in a numeric column) reads as None. Every other part of
the backend is Django's own. PostgreSQL needs nothing of the sort: its
``numeric(18, 2)`` refuses such a value on write, and bestby checks bounds
before writing on both.
"""

from __future__ import annotations

import decimal

from django.db.backends.sqlite3 import base
from django.db.backends.sqlite3.operations import DatabaseOperations as _Operations


class DatabaseOperations(_Operations):
    def get_decimalfield_converter(self, expression):
        strict = super().get_decimalfield_converter(expression)
        create_decimal = decimal.Context(prec=15).create_decimal_from_float

        def converter(value, expression, connection):
            try:
                return strict(value, expression, connection)
            except (decimal.InvalidOperation, TypeError, ValueError):
                try:
                    return create_decimal(float(value))
                except (TypeError, ValueError, OverflowError):
                    return None

        return converter


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

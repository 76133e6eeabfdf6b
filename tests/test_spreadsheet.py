"""Cells of files meant for spreadsheets (bestby.spreadsheet): each cell against the value worked out by hand."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from bestby.spreadsheet import neutralise, writer


@pytest.mark.parametrize(("value", "cell"), [
    ('=HYPERLINK("http://evil.test","open")', '\'=HYPERLINK("http://evil.test","open")'),
    ("+1+2", "'+1+2"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-A1", "'-A1"),
    ("+5", "'+5"),          # a plus is not how bestby writes a number: neutralised
    ("--5", "'--5"),
    ("-5\n=1+1", "'-5\n=1+1"),
    ("-12.50", "-12.50"),   # text that is exactly a negative number stays a number
    ("-3", "-3"),
    ("no budget", "no budget"),
    ("a=b", "a=b"),         # only the first character matters
    (" =1+1", " =1+1"),     # a leading space makes it text already
    ("'=1", "'=1"),
    ("", ""),
    (None, ""),
    (Decimal("-250.00"), Decimal("-250.00")),  # numbers are written as they are
    (-7, -7),
    (-0.25, -0.25),
])
def test_each_cell(value, cell):
    assert neutralise(value) == cell


def test_a_bool_is_text_and_other_values_are_their_text():
    assert neutralise(True) == "True"
    assert neutralise(Decimal("12.5")) == Decimal("12.5")


def test_the_writer_neutralises_every_cell_and_keeps_rfc4180_quoting():
    out = io.StringIO()
    w = writer(out)
    w.writerow(["id", "name", "amount"])
    w.writerows([["D1", '=cmd|"/c calc"!A1', Decimal("-5.00")], ["D2", "plain, with a comma", 7]])
    raw = out.getvalue()
    assert "\r" not in raw
    assert list(csv.reader(io.StringIO(raw))) == [
        ["id", "name", "amount"], ["D1", '\'=cmd|"/c calc"!A1', "-5.00"], ["D2", "plain, with a comma", "7"]]

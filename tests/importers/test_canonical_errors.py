"""Bad input: a clear problem (file, line, column) and the store left exactly as it was.

Every case starts from the hand folder already imported, takes a snapshot
(export bytes + every row of every model, audit entries included), then
imports a variant that carries valid changes (a renamed user on users.csv
line 2, a new amount for d1 on deals.csv line 2, a new touch on touches.csv
line 4) AND one bad thing, usually later or in another file. The import must
fail with exactly the expected problems and the snapshot must not move.

Line numbers below are counted by hand in tests/importers/folders.py HAND
(the header is line 1).
"""

from __future__ import annotations

import pytest

from bestby.importers.canonical import import_canonical
from bestby.importers.problems import ImportFailed
from tests.importers.folders import write_folder
from tests.importers.test_canonical_helpers import Snapshot, changed_hand, drop_column, invalid_utf8_touches, replace_line, write_files

pytestmark = pytest.mark.django_db

FOLDER = "<folder>"  # stands for the imported folder's path in expected problems


def _set(name, old, new):
    def mutate(files):
        files[name] = replace_line(files[name], old, new)
        return files
    return mutate


def _append(name, text):
    def mutate(files):
        files[name] = files[name] + text
        return files
    return mutate


def _drop_col(name, column):
    def mutate(files):
        files[name] = drop_column(files[name], column)
        return files
    return mutate


def _content(name, content):
    def mutate(files):
        if content is None:
            files.pop(name)
        else:
            files[name] = content
        return files
    return mutate


D4_OPEN_CLOSED = "d4,default,New one,a-acme,u-rep1,100,USD,2024-03-01,Qualify,open,2024-03-05,,,,\n"
D2_LINE = "d2,default,Acme sub pilot,a-sub,u-rep1,3000,USD,2024-01-15,Won,won,2024-03-01T16:30:00+01:00,2024-03-01,,referral,\n"

CASES = {
    # -- header ---------------------------------------------------------------
    "missing required column deals.created_at": (
        _drop_col("deals.csv", "created_at"), [("deals.csv", 1, "created_at")], "required column is missing"),
    "missing required column stage_events.to_stage": (
        _drop_col("stage_events.csv", "to_stage"), [("stage_events.csv", 1, "to_stage")], "required column is missing"),
    "missing required column quotas.amount": (
        _drop_col("quotas.csv", "amount"), [("quotas.csv", 1, "amount")], "required column is missing"),
    "a column twice in the header": (
        _set("users.csv", "user_id,name,email,role,manager_id,team,territory", "user_id,name,email,role,manager_id,team,team"),
        [("users.csv", 1, "team")], "more than once"),
    # -- cells ----------------------------------------------------------------
    "required cell empty": (
        _set("close_date_events.csv", "d1,2024-04-29T08:00:00,2024-05-31,", "d1,2024-04-29T08:00:00,,"),
        [("close_date_events.csv", 3, "new_close_date")], "required"),
    "unparseable date (day first)": (
        _set("deals.csv", "2024-02-20,2024-02-28,no budget", "2024-02-20,28/02/2024,no budget"),
        [("deals.csv", 4, "close_date")], "28/02/2024"),
    "unparseable date (no such day)": (
        _set("quotas.csv", "u-rep1,2024-01-01,", "u-rep1,2024-02-30,"), [("quotas.csv", 2, "period_start")], "2024-02-30"),
    "date column given a time of day": (
        _set("close_date_events.csv", "2024-02-01T10:00:00,2024-04-30,", "2024-02-01T10:00:00,2024-04-30T10:00:00,"),
        [("close_date_events.csv", 2, "new_close_date")], "ISO 8601 date"),
    "unparseable timestamp (touches.at)": (
        _set("touches.csv", "t2,2024-02-03T09:00:00,", "t2,2024-02-03 9am,"), [("touches.csv", 3, "at")], "9am"),
    "unparseable timestamp (accounts.created_at)": (
        _set("accounts.csv", ",45,2023-06-01T09:00:00", ",45,June 2023"), [("accounts.csv", 3, "created_at")], "June 2023"),
    "unparseable timestamp (month 13)": (
        _set("stage_events.csv", "d3,2024-01-20,Qualify,", "d3,2024-13-20,Qualify,"), [("stage_events.csv", 6, "at")], "ISO 8601"),
    "number with a thousands separator": (
        _set("deals.csv", "Cold one,,u-rep1,500,", 'Cold one,,u-rep1,"1,000",'), [("deals.csv", 4, "amount")], "'1,000'"),
    "number that is a word": (
        _set("quotas.csv", "2024-03-31,120000", "2024-03-31,abc"), [("quotas.csv", 3, "amount")], "'abc'"),
    "whole number that is a word": (
        _set("accounts.csv", "tech,North,50,", "tech,North,abc,"), [("accounts.csv", 2, "employees")], "'abc'"),
    "whole number with a thousands separator": (
        _set("touches.csv", "a-acme,15,", 'a-acme,"1,000",'), [("touches.csv", 2, "duration_minutes")], "'1,000'"),
    "number NaN": (
        _set("deals.csv", "Cold one,,u-rep1,500,", "Cold one,,u-rep1,NaN,"), [("deals.csv", 4, "amount")], "finite"),
    # -- values the store cannot hold (PostgreSQL refused them with a database
    #    error, SQLite stored them; amounts were rounded and never matched again)
    # (an amount with more decimal places than are kept is rounded half-even, not refused: see
    # test_bad_input_corpus_import.py)
    "amount too large": (
        _set("deals.csv", "Cold one,,u-rep1,500,", "Cold one,,u-rep1,1e20,"), [("deals.csv", 4, "amount")], "too large"),
    "text longer than its field": (
        _set("deals.csv", "Cold one,,u-rep1,500,,", "Cold one,,u-rep1,500,Dollars,"), [("deals.csv", 4, "currency")], "at most 3"),
    "name longer than its field": (
        _set("deals.csv", "d3,default,Cold one,", "d3,default," + "x" * 301 + ","), [("deals.csv", 4, "name")], "301 characters"),
    "whole number out of range": (
        _set("accounts.csv", "tech,North,50,", "tech,North,3000000000,"), [("accounts.csv", 2, "employees")], "out of range"),
    "timestamp before year 1 in UTC": (
        _set("accounts.csv", ",45,2023-06-01T09:00:00", ",45,0001-01-01T00:00:00+01:00"), [("accounts.csv", 3, "created_at")], "out of the range"),
    "probability not a number": (
        _set("stages.csv", "default,Proposal,2,open,0.5", "default,Proposal,2,open,high"), [("stages.csv", 3, "probability")], "'high'"),
    "probability above 1": (
        _set("stages.csv", "default,Proposal,2,open,0.5", "default,Proposal,2,open,1.5"), [("stages.csv", 3, "probability")], "1.5"),
    "unknown channel": (
        _set("touches.csv", ",social,", ",fax,"), [("touches.csv", 3, "channel")], "'fax'"),
    "unknown deal status": (
        _set("deals.csv", "Lost,lost,", "Lost,pending,"), [("deals.csv", 4, "status")], "'pending'"),
    "unknown role": (
        _set("users.csv", "max@example.com,manager,", "max@example.com,boss,"), [("users.csv", 3, "role")], "'boss'"),
    # -- references -----------------------------------------------------------
    "deal owner_id missing": (
        _set("deals.csv", "Cold one,,u-rep1,", "Cold one,,u-ghost,"), [("deals.csv", 4, "owner_id")], "'u-ghost'"),
    "deal account_id missing": (
        _set("deals.csv", "Acme sub pilot,a-sub,", "Acme sub pilot,a-none,"), [("deals.csv", 3, "account_id")], "'a-none'"),
    "stage event deal_id missing": (
        _append("stage_events.csv", "d9,2024-03-01,Qualify,\n"), [("stage_events.csv", 8, "deal_id")], "'d9'"),
    "touch contact_id missing": (
        _set("touches.csv", "out,,d1,,,a-acme", "out,,d1,,c-none,a-acme"), [("touches.csv", 3, "contact_id")], "'c-none'"),
    "user manager_id missing (self reference)": (
        _set("users.csv", "manager,,Alpha", "manager,u-boss,Alpha"), [("users.csv", 3, "manager_id")], "'u-boss'"),
    "account parent missing (self reference)": (
        _set("accounts.csv", "Acme,tech,North,500,25000000,,", "Acme,tech,North,500,25000000,a-none,"),
        [("accounts.csv", 3, "parent_account_id")], "'a-none'"),
    # -- duplicates -------------------------------------------------------------
    "duplicate deal id": (
        _append("deals.csv", D2_LINE), [("deals.csv", 5, "deal_id")], "first on line 3"),
    "duplicate user id": (
        _append("users.csv", "u-mgr,Max Again,max2@example.com,manager,,Alpha,North\n"), [("users.csv", 4, "user_id")], "first on line 3"),
    "duplicate stage": (
        _append("stages.csv", "default,Won,5,won,1\n"), [("stages.csv", 6, "pipeline")], "first on line 4"),
    # -- empty and malformed files ----------------------------------------------
    "empty touches file (0 bytes)": (_content("touches.csv", ""), [("touches.csv", None, None)], "empty"),
    "empty deals file (0 bytes)": (_content("deals.csv", ""), [("deals.csv", None, None)], "empty"),
    "row with a cell too many": (
        _set("stage_events.csv", "d2,2024-01-15,Qualify,\n", "d2,2024-01-15,Qualify,,extra\n"),
        [("stage_events.csv", 4, None)], "5 cells but the header has 4"),
    "row with a cell too few": (
        _set("quotas.csv", "team:Alpha,2024-01-01,2024-03-31,120000", "team:Alpha,2024-01-01,120000"),
        [("quotas.csv", 3, None)], "3 cells but the header has 4"),
    "unterminated quote": (
        _set("touches.csv", ",liked a post\n", ',"liked a post\n'), [("touches.csv", 3, None)], "CSV"),
    "invalid UTF-8": (invalid_utf8_touches(bom=False), [("touches.csv", 3, None)], "UTF-8"),
    "invalid UTF-8 after a byte-order mark": (invalid_utf8_touches(bom=True), [("touches.csv", 3, None)], "UTF-8"),
    "invalid UTF-8 at the start of a line after a byte-order mark": (
        invalid_utf8_touches(bom=True, at_line_start=True), [("touches.csv", 3, None)], "UTF-8"),
    "deals file missing entirely": (_content("deals.csv", None), [(FOLDER, None, None)], "deals"),
    # -- stages ---------------------------------------------------------------
    "deal stage not in the pipeline": (
        _set("deals.csv", "Won,won,", "Negotiation,won,"), [("deals.csv", 3, "stage")], "'Negotiation'"),
    "stage event to_stage not in the pipeline": (
        _set("stage_events.csv", "d1,2024-03-10T10:00:00,Proposal,", "d1,2024-03-10T10:00:00,Negotiation,"),
        [("stage_events.csv", 3, "to_stage")], "'Negotiation'"),
    "stage event from_stage not in the pipeline": (
        _set("stage_events.csv", "Lost,Qualify", "Lost,Qualification"), [("stage_events.csv", 7, "from_stage")], "'Qualification'"),
    "deal pipeline unknown": (
        _set("deals.csv", "d3,default,", "d3,enterprise,"), [("deals.csv", 4, "pipeline")], "'enterprise'"),
    # -- deal rules -------------------------------------------------------------
    "closed_at on an open deal": (_append("deals.csv", D4_OPEN_CLOSED), [("deals.csv", 5, "closed_at")], "open"),
    "won deal without closed_at": (
        _set("deals.csv", "won,2024-03-01T16:30:00+01:00,", "won,,"), [("deals.csv", 3, "closed_at")], "won"),
    "status contradicts the stage kind": (
        _set("deals.csv", "Lost,lost,", "Lost,won,"), [("deals.csv", 4, "status")], "lost stage"),
    "open status in a won stage (with closed_at)": (
        _set("deals.csv", "Won,won,", "Won,open,"), [("deals.csv", 3, "status"), ("deals.csv", 3, "closed_at")], "won stage"),
    "closed before created": (
        _set("deals.csv", "Lost,lost,2024-02-20,", "Lost,lost,2024-01-10,"), [("deals.csv", 4, "closed_at")], "before created_at"),
    # -- quotas -----------------------------------------------------------------
    "quota period_end before period_start": (
        _set("quotas.csv", "team:Alpha,2024-01-01,2024-03-31", "team:Alpha,2024-04-01,2024-03-31"),
        [("quotas.csv", 3, "period_end")], "before period_start"),
    "quota owner neither a user nor team:NAME": (
        _set("quotas.csv", "u-rep1,", "u-ghost,"), [("quotas.csv", 2, "owner_id")], "'u-ghost'"),
    "quota owner team: without a name": (
        _set("quotas.csv", "team:Alpha,", "team:,"), [("quotas.csv", 3, "owner_id")], "team name"),
}


@pytest.fixture(scope="module")
def good_store(django_db_setup, django_db_blocker, tmp_path_factory):
    """The hand folder imported once for all cases, and its snapshot.

    The import runs inside a transaction that is rolled back when the module
    is done; each test runs in a savepoint inside it (pytest-django), so a
    test sees exactly this store and leaves it as it found it.
    """
    from django.db import transaction

    tmp = tmp_path_factory.mktemp("good")
    with django_db_blocker.unblock():
        with transaction.atomic():
            import_canonical(write_folder(tmp / "in"))
            yield Snapshot(tmp)
            transaction.set_rollback(True)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_names_file_line_column_and_changes_nothing(good_store, tmp_path, case):
    mutate, expected, fragment = CASES[case]
    before = good_store
    bad = write_files(tmp_path / "bad", mutate(changed_hand()))
    with pytest.raises(ImportFailed) as failed:
        import_canonical(bad)
    expected = [(str(bad) if f == FOLDER else f, line, column) for f, line, column in expected]
    got = [(p.file, p.line, p.column) for p in failed.value.problems]
    assert got == expected, failed.value.summary()
    assert fragment.lower() in failed.value.problems[0].message.lower(), failed.value.summary()
    # the message a person reads names the same place
    first = str(failed.value.problems[0])
    assert first.startswith(expected[0][0])
    if expected[0][1] is not None:
        assert f"line {expected[0][1]}" in first
    if expected[0][2] is not None:
        assert f"column {expected[0][2]}" in first
    Snapshot(tmp_path).assert_same(before)

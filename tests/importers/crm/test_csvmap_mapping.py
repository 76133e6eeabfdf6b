"""The mapping file of `bestby import csv`: every kind of mistake is named by file, line and key; date patterns.

These tests need no database: ``map_export`` is pure and refuses a bad mapping
before anything could be written (the CLI test in test_csvmap.py checks the
store is untouched).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bestby.format import SPECS
from bestby.importers.crm import csvmap
from bestby.importers.crm.csvmap_dates import PatternDates
from bestby.importers.crm.dates import Dates
from bestby.importers.problems import ImportFailed
from tests.importers.crm.csvmap_files import DEALS, write

BASE = "table: deals\ncolumns:\n  deal_id: Opportunity ID\n  created_at: Created\n"   # 4 lines
HEADER = "Opportunity ID, Opportunity, Created, Phase, Status, Value, Closed on, Expected close, Owner, Internal notes"
UTC = timezone.utc
FORMATS_HINT = "use one of DD/MM/YYYY, MM/DD/YYYY, YYYY-MM-DD or a pattern such as DD-MM-YYYY or DD.MM.YY hh:mm"


def problems_of(tmp_path, mapping_text, csv_text=DEALS, order=None):
    csv_path = write(tmp_path, "deals.csv", csv_text)
    with pytest.raises(ImportFailed) as exc:
        csvmap.map_export(csv_path, Dates(order), mapping=write(tmp_path, "map.yaml", mapping_text))
    return [str(p) for p in exc.value.problems]


def mapped(tmp_path, mapping_text, csv_text=DEALS, order=None):
    out, findings = csvmap.map_export(write(tmp_path, "deals.csv", csv_text), Dates(order),
                                      mapping=write(tmp_path, "map.yaml", mapping_text))
    return out, findings


CASES = {
    "unknown table": ("table: deal\ncolumns: {deal_id: Opportunity ID}\n",
                      ["map.yaml, line 1: table: 'deal' is not a FORMAT.md file (one of: users, stages, accounts, "
                       "contacts, products, deals, leads, stage_events, close_date_events, touches, orders, invoices, "
                       "wallet, quotas)"]),
    "table missing": ("columns:\n  deal_id: Opportunity ID\n",
                      ["map.yaml, line 1: table: is missing; name a FORMAT.md file (users, stages, accounts, contacts, "
                       "products, deals, leads, stage_events, close_date_events, touches, orders, invoices, wallet, "
                       "quotas)"]),
    "columns missing": ("table: deals\n",
                        ["map.yaml, line 1: columns: is missing; map FORMAT.md columns to the CSV's columns"]),
    "unknown FORMAT.md column": (BASE + "  closedate: Closed on\n",
                                 ["map.yaml, line 5: columns.closedate: 'closedate' is not a column of FORMAT.md deals "
                                  "(its columns: deal_id, pipeline, name, account_id, owner_id, amount, currency, "
                                  "created_at, stage, status, closed_at, close_date, lost_reason, source, product_id)"]),
    "source column not in the header": (BASE + "  amount: Price\n",
                                        [f"map.yaml, line 5: columns.amount: 'Price' is not a column of deals.csv; "
                                         f"its header has: {HEADER}"]),
    "required column neither mapped nor constant": (
        "table: deals\ncolumns:\n  deal_id: Opportunity ID\n",
        ["map.yaml, line 2: columns: FORMAT.md deals.created_at is required; map it to a column of deals.csv or give "
         "it under constants"]),
    "date_format with an unknown part": (BASE + "date_format: DAY/MM/YYYY\n",
                                         ["map.yaml, line 5: date_format: 'DAY/MM/YYYY' is not a date format bestby "
                                          "reads: 'D' at position 1 is neither a part (YYYY, YY, MM, DD, hh, mm, ss) nor "
                                          f"a separator; {FORMATS_HINT}"]),
    "date_format without a day": (BASE + "date_format: MM/YYYY\n",
                                  ["map.yaml, line 5: date_format: 'MM/YYYY' is not a date format bestby reads: it has "
                                   f"no DD; {FORMATS_HINT}"]),
    "date_format with a part twice": (BASE + "date_format: DD/MM/YYYY/DD\n",
                                      ["map.yaml, line 5: date_format: 'DD/MM/YYYY/DD' has the DD part twice"]),
    "columns is a list": ("table: deals\ncolumns: [deal_id, created_at]\n",
                          ["map.yaml, line 2: columns: must be a mapping (one 'key: value' per line), not a list"]),
    "a source column that is a mapping": (BASE + "  stage: {name: Phase}\n",
                                          ["map.yaml, line 5: columns.stage: must be text, not a mapping"]),
    "keep_other_columns not a boolean": (BASE + "keep_other_columns: maybe\n",
                                         ["map.yaml, line 5: keep_other_columns: must be true or false, not 'maybe'"]),
    "unknown key": (BASE + "colums: {}\n",
                    ["map.yaml, line 5: colums: is not a key of a mapping file (the keys: table, columns, constants, "
                     "values, date_format, decimal, thousands, keep_other_columns, ignore, skip, stages)"]),
    "not YAML": ("table: deals\ncolumns: {deal_id: Opportunity ID\n",
                 ["map.yaml, line 3: is not valid YAML: while parsing a flow mapping expected ',' or '}', but got "
                  "'<stream end>'"]),
    "a key twice": (BASE + "  deal_id: Opportunity\n",
                    ["map.yaml, line 5: columns.deal_id: is given twice (first on line 3)"]),
    "a list, not a mapping": ("- table\n- deals\n",
                              ["map.yaml, line 1: must be a mapping of keys (table, columns, constants, values, "
                               "date_format, decimal, thousands, keep_other_columns, ignore, skip, stages), not a list"]),
    "empty file": ("# nothing yet\n", ["map.yaml: the mapping file is empty; it needs at least table and columns"]),
    "value map target not an enum value": (BASE + "  status: Status\nvalues:\n  status: {Open: opened}\n",
                                           ["map.yaml, line 7: values.status.Open: 'opened' is not one of: open, won, "
                                            "lost"]),
    "value map of an unmapped column": (BASE + "values:\n  stage: {A: B}\n",
                                        ["map.yaml, line 6: values.stage: maps values of 'stage', which is not mapped "
                                         "under columns"]),
    "mapped and constant": (BASE + "constants:\n  deal_id: x\n",
                            ["map.yaml, line 6: constants.deal_id: is also mapped under columns; give one of the two"]),
    "enum constant": (BASE + "constants:\n  status: closed\n",
                      ["map.yaml, line 6: constants.status: 'closed' is not one of: open, won, lost"]),
    "constant of an unknown column": (BASE + "constants:\n  region: EU\n",
                                      ["map.yaml, line 6: constants.region: 'region' is not a column of FORMAT.md deals "
                                       "(its columns: deal_id, pipeline, name, account_id, owner_id, amount, currency, "
                                       "created_at, stage, status, closed_at, close_date, lost_reason, source, "
                                       "product_id)"]),
    "decimal mark unknown": (BASE + 'decimal: ";"\n',
                             ["map.yaml, line 5: decimal: ';' is not a decimal mark bestby reads (one of: '.', ',')"]),
    "thousands equals decimal": (BASE + 'decimal: ","\nthousands: ","\n',
                                 ["map.yaml, line 6: thousands: ',' is also the decimal mark"]),
    "thousands dot without decimal": (BASE + 'thousands: "."\n',
                                      ["map.yaml, line 5: thousands: '.' is also the decimal mark ('.' unless decimal "
                                       "says otherwise)"]),
    "stages of another table": ("table: accounts\ncolumns:\n  account_id: Opportunity ID\nstages: [A]\n",
                                ["map.yaml, line 4: stages: only a deals mapping declares stages"]),
    "stage items": (BASE + "stages:\n  - {stage: Won, kind: winning}\n  - {name: X}\n  - [A]\n  - {stage: B, probability: "
                    "high}\n  - B\n  - B\n",
                    ["map.yaml, line 6: stages[0].kind: 'winning' is not one of: open, won, lost",
                     "map.yaml, line 7: stages[1].name: is not a key of a stage (stage, kind, probability)",
                     "map.yaml, line 7: stages[1].stage: is missing: every stage needs its name",
                     "map.yaml, line 8: stages[2]: must be a stage name or a mapping (stage, kind, probability), not a "
                     "list",
                     "map.yaml, line 9: stages[3].probability: 'high' is not a number from 0 to 1",
                     "map.yaml, line 11: stages[5]: stage 'B' is listed twice"]),
    "no open stage": (BASE + "stages: [Won, Lost]\n",
                      ["map.yaml, line 5: stages: has no open stage; a deal enters the pipeline in the first open "
                       "stage"]),
    "ignore and skip name columns of the CSV": (BASE + "ignore: [Notes]\nskip:\n  State: [x]\n",
                                                [f"map.yaml, line 5: ignore[0]: 'Notes' is not a column of deals.csv; "
                                                 f"its header has: {HEADER}",
                                                 f"map.yaml, line 7: skip.State: 'State' is not a column of deals.csv; "
                                                 f"its header has: {HEADER}"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_mapping_is_named(tmp_path, case):
    text, expected = CASES[case]
    assert problems_of(tmp_path, text) == expected


def test_unmapped_column_named_like_a_format_column(tmp_path):
    csv_text = "Opportunity ID,Created,name\nOPP-1,2024-01-03,Acme\n"
    assert problems_of(tmp_path, BASE, csv_text) == [
        "map.yaml, line 2: columns: deals.csv has a column 'name', which is the name of a FORMAT.md column but is not "
        "mapped; map it (name: name) or list it under ignore"]
    out, _ = mapped(tmp_path, BASE + "keep_other_columns: false\n", csv_text)   # not kept: no question
    assert out.tables["deals"].columns == list(SPECS["deals"].column_names)


def test_source_columns_match_loosely_but_not_ambiguously(tmp_path):
    csv_text = "Opportunity ID,Created,STAGE,Stage!\nOPP-1,2024-01-03,a,b\n"
    out, _ = mapped(tmp_path, "table: deals\ncolumns:\n  deal_id: opportunity_id\n  created_at: CREATED\n"
                              "  stage: Stage!\n", csv_text)
    deals = out.tables["deals"]
    assert deals.column("deal_id") == ["OPP-1"] and deals.column("stage") == ["b"] and deals.column("STAGE") == ["a"]
    assert problems_of(tmp_path, BASE + "  stage: stage\n", csv_text) == [
        "map.yaml, line 5: columns.stage: 'stage' matches several columns of deals.csv (STAGE, Stage!); write the one "
        "meant exactly"]


def test_missing_files_are_named(tmp_path):
    deals = write(tmp_path, "deals.csv", DEALS)
    with pytest.raises(ImportFailed) as exc:
        csvmap.map_export(deals, Dates(), mapping=tmp_path / "nope.yaml")
    assert [str(p) for p in exc.value.problems] == [f"{tmp_path / 'nope.yaml'}: the mapping file does not exist"]
    with pytest.raises(ImportFailed) as exc:
        csvmap.map_export(tmp_path / "nope.csv", Dates(), mapping=write(tmp_path, "map.yaml", BASE))
    assert [str(p) for p in exc.value.problems] == [f"{tmp_path / 'nope.csv'}: does not exist; give the CSV file"]


def test_ambiguous_dates_need_a_format(tmp_path):
    csv_text = "Opportunity ID,Created\nOPP-1,03/01/2024\nOPP-2,04/02/2024\n"
    assert problems_of(tmp_path, BASE, csv_text) == [
        "deals.csv: dates such as '03/01/2024' in deals.csv column Created read both as day/month and month/day; pass "
        "--date-format DD/MM/YYYY or --date-format MM/DD/YYYY (or set date_format in map.yaml)"]
    out, _ = mapped(tmp_path, BASE, csv_text, order="mdy")  # --date-format MM/DD/YYYY
    assert out.tables["deals"].column("created_at") == [datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC)]
    out, _ = mapped(tmp_path, BASE + "date_format: DD/MM/YYYY\n", csv_text)
    assert out.tables["deals"].column("created_at") == [datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 2, 4, tzinfo=UTC)]


def test_constants_scalars_as_text_and_custom_fields(tmp_path):
    csv_text = "Opportunity ID,Won?,Code,Region,Closed\nOPP-1,Yes,007,EU,02.03.2024\nOPP-2,No,010,,\n"
    text = ("table: deals\ncolumns:\n  deal_id: Opportunity ID\n  status: Won?\n  source: Code\n  closed_at: Closed\n"
            "values:\n  status: {Yes: won, No: open}\n  source: {007: Seven}\n"
            "constants:\n  created_at: 01.02.2024\n  pipeline: ~\n  currency: EUR\n")
    out, _ = mapped(tmp_path, text, csv_text)
    deals = out.tables["deals"]
    # YAML's Yes/No/007 stay the text written; an unlisted value of a non-enum column (010) passes unchanged
    assert deals.column("status") == ["won", "open"] and deals.column("source") == ["Seven", "010"]
    assert deals.column("created_at") == [datetime(2024, 2, 1, tzinfo=UTC)] * 2   # dots are day-first
    assert deals.column("closed_at") == [datetime(2024, 3, 2, tzinfo=UTC), None]
    assert deals.column("pipeline") == [None, None] and deals.column("currency") == ["EUR", "EUR"]
    assert deals.column("Region") == ["EU", None]   # an unmapped column kept as a custom field


def test_space_as_thousands_separator(tmp_path):
    csv_text = 'Opportunity ID,Created,Value\nOPP-1,2024-01-03,"1 234,50"\nOPP-2,2024-01-04,"-7,5"\n'
    out, _ = mapped(tmp_path, BASE + '  amount: Value\ndecimal: ","\nthousands: " "\n', csv_text)
    assert out.tables["deals"].column("amount") == ["1234.50", "-7.5"]


def test_enum_value_not_in_map_names_the_accepted_values(tmp_path):
    text = BASE + "  status: Status\nvalues:\n  status: {Open: open, Won: won}\n"
    problems = problems_of(tmp_path, text)
    # Status by line: 2 Open, 3 Open, 4 Won, 5 Lost, 6 Lost, 7 Open, 8 Won, 9 Won: both Lost rows are named
    assert problems == [f"deals.csv, line {n}, column Status: 'Lost' is not in the mapping's values.status (map.yaml, "
                        "line 7), which accepts 'Open', 'Won'" for n in (5, 6)]


# -- date patterns (csvmap_dates) --------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("DD-MM-YYYY", "05-03-2024", datetime(2024, 3, 5)),
    ("DD-MM-YYYY", "5-3-2024 14:02", datetime(2024, 3, 5, 14, 2)),        # a time may follow a date-only pattern
    ("DD-MM-YYYY", "2024-03-05T14:02:09", datetime(2024, 3, 5, 14, 2, 9)),  # ISO 8601 is always read
    ("DD.MM.YY", "31.12.68", datetime(2068, 12, 31)),                     # POSIX pivot: 00..68 are 20xx
    ("DD.MM.YY", "01.01.69", datetime(1969, 1, 1)),                       # 69..99 are 19xx
    ("YYYY/MM/DD hh:mm", "2024/03/05 09:30", datetime(2024, 3, 5, 9, 30)),
    ("MM-DD-YYYY HH:mm:ss", "03-05-2024 23:59:58", datetime(2024, 3, 5, 23, 59, 58)),
])
def test_date_patterns(pattern, text, expected):
    assert PatternDates(pattern).ts(text) == expected.replace(tzinfo=UTC)   # no zone written: workspace time


@pytest.mark.parametrize(("pattern", "text", "needle"), [
    ("DD-MM-YYYY", "05/03/2024", "is not a date written DD-MM-YYYY"),
    ("YYYY/MM/DD hh:mm", "2024/03/05", "is not a date written YYYY/MM/DD hh:mm"),   # the pattern's time is required
    ("DD-MM-YYYY", "31-02-2024", "is not a date (day is out of range for month"),
])
def test_date_patterns_refuse(pattern, text, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        PatternDates(pattern).ts(text)
    assert PatternDates("DD.MM.YYYY").day("05.03.2024") == date(2024, 3, 5)

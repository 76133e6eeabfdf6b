"""``bestby import csv FILE --mapping MAP.yaml``: any CSV into one FORMAT.md table, through a mapping file.

The mapping file (YAML) says which FORMAT.md table the CSV holds and where
each FORMAT.md column comes from. Every key but ``table`` and ``columns`` is
optional::

    table: deals                 # the FORMAT.md file the CSV's rows become (deals, touches, accounts ...)
    columns:                     # FORMAT.md column: the CSV's column (its header cell)
      deal_id: Opportunity ID
      created_at: Created
      stage: Phase
      status: Status
      amount: Value
    values:                      # per FORMAT.md column: CSV value -> FORMAT.md value
      stage: {Proposal sent: Proposal}
      status: {Open: open, Won: won, Lost: lost}
    constants:                   # FORMAT.md columns with one value for every row
      pipeline: New business
      currency: EUR
    date_format: DD/MM/YYYY      # DD/MM/YYYY, MM/DD/YYYY, YYYY-MM-DD, or a pattern: DD-MM-YYYY, DD.MM.YY hh:mm
    decimal: ","                 # the decimal mark of number columns (default ".")
    thousands: "."               # their thousands separator (default: none)
    keep_other_columns: true     # the CSV's other columns become custom fields (default true)
    ignore: [Internal notes]     # CSV columns not to keep
    skip:                        # rows left out when a CSV column holds one of these values
      Status: [Planned]
    stages:                      # deals only: the pipeline's stages in order (see csvmap_deals)
      - Qualify
      - {stage: Proposal, probability: 0.4}
      - {stage: Closed won, kind: won}
      - {stage: Closed lost, kind: lost}

Meaning, key by key:

* ``columns``: CSV headers are matched exactly, else ignoring case, spaces and
  punctuation (``opportunity_id`` finds ``Opportunity ID``). Every required
  FORMAT.md column must be mapped or constant. One CSV column may feed two
  FORMAT.md columns.
* ``values``: a cell is looked up after its surrounding spaces are removed;
  an empty cell is looked up only when the map has an empty key (``"": open``);
  ``~`` as a target empties the cell. On an enum column (status, kind,
  channel, direction, outcome, role, buying_role, source of leads ...) the map
  is the whole list of accepted CSV values: a value not in it is a problem
  naming the file, line, column and the values the map accepts; its targets
  must be the column's FORMAT.md values. On another column (a stage, a name)
  a value not in the map passes unchanged.
* ``date_format`` reads every date and timestamp column (and date constants),
  as ``csvmap_dates`` specifies. Without it, ``--date-format`` is used, else
  the order is detected from the data (``crm.dates``). Both given and
  different is a problem: two sources would disagree about every date.
* ``decimal`` and ``thousands`` apply to every number column (money,
  quantities, probability, whole numbers). With them a cell must be written
  exactly so: ``1.234,50`` with ``decimal: ","`` and ``thousands: "."``;
  thousands groups must have three digits, so that ``1.5`` is refused rather
  than read as fifteen. Without them numbers are read as FORMAT.md writes
  them (``1234.50``).
* ``keep_other_columns``: a kept column is a custom field named by its header;
  a CSV column named like an unmapped FORMAT.md column of the table must be
  mapped or ignored (kept, it would silently become that column).
* ``skip``: the rows are counted under finding ``skipped_by_mapping`` with
  examples, never dropped silently (the usual use: activities not done yet).
* Every scalar is read as the text written: ``Yes`` stays ``Yes`` and
  ``007`` stays ``007`` (see ``csvmap_spec``).
* ``users`` without a mapped role: ``manager`` for a user someone's
  ``manager_id`` names, else ``rep``. ``deals``: see ``csvmap_deals`` for the
  stage, status, closing-time and history rules.

References (an ``owner_id``, a touch's ``deal_id``) must name rows already
stored or in the same import: import users and deals before their touches.
Source ids are kept unchanged, so importing a newer CSV updates changed rows
and adds new ones (the canonical import's matching). Problems in the mapping
name the mapping file, the line and the key; problems in the CSV name the CSV,
the line and the CSV's column; all are collected and raised together before
anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path

from bestby.format import SPECS
from bestby.importers.crm.csvmap_dates import PatternDates, reader_for
from bestby.importers.crm.csvmap_deals import apply_deal_rules
from bestby.importers.crm.csvmap_spec import Mapping, read_mapping
from bestby.importers.crm.dates import FORMATS, DateOrderError, Dates
from bestby.importers.crm.findings import Findings
from bestby.importers.crm.out import Out
from bestby.importers.crm.source import SourceFile
from bestby.importers.problems import ProblemCollector
from bestby.importers.readers import read_table

_ORDER_NAMES = {order: name for name, order in FORMATS.items()}


def map_export(path: Path, dates: Dates, mapping: Path) -> tuple[Out, Findings]:
    """Map the CSV at ``path`` into FORMAT.md tables as ``mapping`` says; raise ImportFailed on any problem."""
    path, mapping = Path(path), Path(mapping)
    problems = ProblemCollector()
    if not path.exists() or path.is_dir():
        problems.add(str(path), None, None, "does not exist; give the CSV file" if not path.exists()
                     else "is a folder; give one CSV file")
        problems.raise_if_any()
    raw = read_table(path, problems)  # refuses a device, a pipe or a file past BESTBY_MAX_IMPORT_MB, by name
    problems.raise_if_any()
    src = SourceFile(raw)
    m = read_mapping(mapping, raw.columns, raw.file, problems)
    problems.raise_if_any()
    reader = _date_reader(m, dates, problems)
    problems.raise_if_any()
    findings = Findings()
    out = Out()
    rows = _rows(src, m, reader, findings, problems)
    problems.raise_if_any()
    if m.table == "deals":
        rows = apply_deal_rules(rows, m, raw.file, out, findings, problems, zone=dates.zone)
    elif m.table == "users" and "role" not in m.columns and "role" not in m.constants:
        managers = {v.get("manager_id") for _, v, _ in rows}
        for _, v, _ in rows:
            v["role"] = "manager" if v["user_id"] in managers else "rep"
    problems.raise_if_any()
    table = out.table(m.table)
    table.describe(raw.file, **m.columns)
    table.describe(raw.file, **{c: f"{m.file} constants.{c}" for c in m.constants})
    for line, values, custom in rows:
        table.add(raw.file, line, **values, **custom)
    return out, findings


def _date_reader(m: Mapping, dates: Dates, problems: ProblemCollector) -> Dates | PatternDates:
    if m.date_format is None:
        return dates
    reader = reader_for(m.date_format, dates.zone)
    if dates.given and (not isinstance(reader, Dates) or reader.order != dates.order):
        problems.add(m.file, m.line("date_format"), None,
                     f"date_format: {m.date_format} differs from --date-format {_ORDER_NAMES.get(dates.order)}; "
                     "give one of the two")
    return reader


def _rows(src: SourceFile, m: Mapping, reader, findings: Findings, problems: ProblemCollector):
    """``(line, values, custom)`` for every row not skipped; cells converted to FORMAT.md values."""
    spec = SPECS[m.table]

    def col(header: str) -> list[str]:  # by the exact header: two headers may differ only in case
        return [c.strip() if isinstance(c, str) else ("" if c is None else str(c))
                for c in src.raw.cells[src.raw.columns.index(header)]]

    cells = {column: col(header) for column, header in m.columns.items()}
    types = {c: spec.column(c).type for c in list(m.columns) + list(m.constants)}
    if isinstance(reader, Dates):
        for column, header in m.columns.items():
            if types[column] in ("ts", "date"):
                reader.observe(cells[column], f"{src.file} column {header}")
        constant_dates = [v for c, v in m.constants.items() if v and types[c] in ("ts", "date")]
        reader.observe(constant_dates, f"{m.file} constants")
        try:
            reader.settle()
        except DateOrderError as exc:
            problems.add(src.file, None, None, f"{exc} (or set date_format in {m.file})")
            return []
    constants = {}
    for column, value in m.constants.items():
        try:
            constants[column] = _convert(value, types[column], reader, m)
        except ValueError as exc:
            problems.add(m.file, m.line(f"constants.{column}"), None, f"constants.{column}: {exc}")
    used = set(m.columns.values()) | set(m.ignore)
    kept = [h for h in src.raw.columns if h not in used] if m.keep_other_columns else []
    other = {h: col(h) for h in kept}
    skip = [(h, col(h), values) for h, values in m.skip.items()]
    rows = []
    for i, line in enumerate(src.lines):
        hit = next(((h, c[i]) for h, c, values in skip if c[i] in values), None)
        if hit is not None:
            findings.skip("skipped_by_mapping", "rows the mapping's skip leaves out", src.file, line,
                          f"{hit[0]} = {hit[1]!r}")
            continue
        values = dict(constants)
        for column, header in m.columns.items():
            text = cells[column][i]
            vmap = m.values.get(column)
            if vmap is not None and (text or "" in vmap):
                if text in vmap:
                    text = vmap[text] or ""
                elif spec.column(column).choices:
                    accepted = ", ".join(repr(k) for k in vmap)
                    problems.add(src.file, line, header, f"{text!r} is not in the mapping's values.{column} "
                                 f"({m.file}, line {m.line(f'values.{column}')}), which accepts {accepted}")
                    continue
            try:
                values[column] = _convert(text, types[column], reader, m) if text else None
            except ValueError as exc:
                problems.add(src.file, line, header, str(exc))
        custom = {h: c[i] for h, c in other.items() if c[i]}
        rows.append((line, values, custom))
    return rows


def _convert(text: str | None, kind: str, reader, m: Mapping):
    """One cell or constant as FORMAT.md takes it: dates parsed, numbers normalised, the rest as written."""
    if not text:
        return None
    if kind == "ts":
        return reader.ts(text)
    if kind == "date":
        return reader.day(text)
    if kind in ("decimal", "float", "int") and (m.decimal or m.thousands):
        return number(text, m.decimal or ".", m.thousands)
    return text


def number(text: str, decimal: str, thousands: str | None) -> str:
    """``text`` written with these marks, as FORMAT.md writes numbers; ValueError when it is written otherwise.

    Groups between thousands separators must have three digits and the first
    one to three: ``1.5`` with ``thousands: "."`` is refused, not read as 15.
    A no-break space counts as a space (spreadsheets write "1 234,50" so).
    """
    t = text.strip().replace("\u00a0", " ")
    d, s = re.escape(decimal), re.escape(thousands) if thousands else None
    whole = rf"(?:\d{{1,3}}(?:{s}\d{{3}})+|\d+)" if s else r"\d+"
    m = re.fullmatch(rf"([+-]?)({whole}?)(?:{d}(\d+))?", t)
    if m is None or not (m.group(2) or m.group(3)):
        marks = f"decimal mark {decimal!r}" + (f" and thousands separator {thousands!r}" if thousands else "")
        example = "1" + (thousands or "") + "234" + decimal + "50"
        raise ValueError(f"{text!r} is not a number written with the mapping's {marks} (like {example})")
    digits = m.group(2).replace(thousands, "") if thousands else m.group(2)
    return f"{m.group(1)}{digits or '0'}" + (f".{m.group(3)}" if m.group(3) else "")

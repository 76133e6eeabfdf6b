"""The mapping file of ``bestby import csv``: read, then checked against FORMAT.md and the CSV's header.

The format is documented in ``bestby.importers.crm.csvmap``. This module turns
the file into a ``Mapping`` or into problems, each naming the mapping file, the
line of the key and the key itself (``deals.yaml, line 7: columns.amount: ...``),
all collected before anything is read from the CSV's rows.

The YAML is read node by node (``yaml.compose``) rather than constructed into
Python values, for three reasons: every key keeps its line for the messages;
a key given twice is reported (PyYAML's constructor silently keeps the last);
and every scalar stays the text that was written. Value maps compare the
mapping's text with the CSV's text, so ``Yes``, ``007`` or ``2024-01-05`` must
not become ``True``, ``7`` or a date on the way. Only ``~``, ``null`` and an
empty value mean "empty".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bestby.format import SPECS, STAGE_KINDS
from bestby.importers.crm.csvmap_dates import reader_for
from bestby.importers.crm.source import norm
from bestby.importers.problems import ProblemCollector
from bestby.importers.stages import derive_stages

KEYS = ("table", "columns", "constants", "values", "date_format", "decimal", "thousands", "keep_other_columns",
        "ignore", "skip", "stages")
_NULL = "tag:yaml.org,2002:null"
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
#: decimal marks and thousands separators in use (the space covers "1 234,50"; the apostrophe Swiss "1'234.50")
DECIMAL_MARKS = (".", ",")
THOUSANDS_SEPARATORS = (",", ".", " ", "'")


@dataclass
class Stage:
    name: str
    kind: str
    probability: float | None
    line: int | None


@dataclass
class Mapping:
    file: str                                                        # the mapping file's name, for messages
    table: str = ""
    columns: dict[str, str] = field(default_factory=dict)            # FORMAT.md column -> header as the CSV spells it
    constants: dict[str, str | None] = field(default_factory=dict)   # FORMAT.md column -> fixed text
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    date_format: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    keep_other_columns: bool = True
    ignore: list[str] = field(default_factory=list)                  # CSV headers
    skip: dict[str, set[str]] = field(default_factory=dict)          # CSV header -> values whose rows are skipped
    stages: list[Stage] | None = None
    lines: dict[str, int] = field(default_factory=dict)              # key path ("columns.amount") -> line

    def line(self, key: str) -> int | None:
        """The line of ``key``, else of the nearest key above it (a missing ``stages[1].stage``: ``stages[1]``)."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:max(key.rfind("."), key.rfind("["), 0)]
        return None


def _kind(value) -> str:
    return {str: "text", list: "a list", dict: "a mapping", type(None): "empty"}[type(value)]


class _Reader:
    def __init__(self, file: str, header: list[str], csv_name: str, problems: ProblemCollector) -> None:
        self.m = Mapping(file)
        self.header = header
        self.csv_name = csv_name
        self.problems = problems

    def problem(self, key: str, message: str, line: int | None = None) -> None:
        self.problems.add(self.m.file, line if line is not None else self.m.line(key), None, f"{key}: {message}")

    # -- YAML nodes to plain values, with the line of every key ---------------------------------
    def plain(self, node, key: str):
        if isinstance(node, yaml.ScalarNode):
            return None if node.tag == _NULL else node.value
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.m.lines[f"{key}[{i}]"] = item.start_mark.line + 1
                items.append(self.plain(item, f"{key}[{i}]"))
            return items
        out: dict = {}
        for k, v in node.value:
            line = k.start_mark.line + 1
            if not isinstance(k, yaml.ScalarNode) or k.tag == _NULL:
                self.problem(key or "(top level)", "a key must be text", line)
                continue
            sub = f"{key}.{k.value}" if key else k.value
            if k.value in out:
                self.problem(sub, f"is given twice (first on line {self.m.lines[sub]})", line)
                continue
            self.m.lines[sub] = line
            out[k.value] = self.plain(v, sub)
        return out

    # -- typed access ---------------------------------------------------------------------
    def text(self, key: str, value, *, empty_ok: bool = False) -> str | None:
        if isinstance(value, str) and (value.strip() or empty_ok):
            return value.strip()
        if value is None and empty_ok:
            return None
        self.problem(key, f"must be text, not {_kind(value)}")
        return None

    def mapping(self, key: str, value) -> dict:
        if isinstance(value, dict):
            return value
        self.problem(key, f"must be a mapping (one 'key: value' per line), not {_kind(value)}")
        return {}

    def texts(self, key: str, value) -> list[str]:
        """A list of text, or one text standing for a list of one."""
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            t = self.text(f"{key}[{i}]" if isinstance(value, list) else key, item, empty_ok=True)
            out.append(t or "")
        return out

    def source(self, key: str, name: str | None) -> str | None:
        """The CSV header cell ``name`` refers to: exactly, else ignoring case, spaces and punctuation."""
        if name is None:
            return None
        if name in self.header:
            return name
        hits = [h for h in self.header if norm(h) == norm(name)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            self.problem(key, f"{name!r} matches several columns of {self.csv_name} ({', '.join(hits)}); "
                              "write the one meant exactly")
            return None
        self.problem(key, f"{name!r} is not a column of {self.csv_name}; its header has: {', '.join(self.header)}")
        return None

    def format_column(self, key: str, name: str) -> bool:
        spec = SPECS[self.m.table]
        if name in spec.column_names:
            return True
        self.problem(key, f"{name!r} is not a column of FORMAT.md {self.m.table} (its columns: "
                          f"{', '.join(spec.column_names)})")
        return False

    # -- the keys ------------------------------------------------------------------------
    def read(self, data) -> Mapping:
        m = self.m
        if not isinstance(data, dict):
            self.problems.add(m.file, 1, None, f"must be a mapping of keys ({', '.join(KEYS)}), not {_kind(data)}")
            return m
        for key in data:
            if key not in KEYS:
                self.problem(key, f"is not a key of a mapping file (the keys: {', '.join(KEYS)})")
        table = self.text("table", data.get("table")) if "table" in data else None
        if "table" not in data:
            self.problems.add(m.file, 1, None, f"table: is missing; name a FORMAT.md file ({', '.join(SPECS)})")
            return m
        if table is None:
            return m
        if table not in SPECS:
            self.problem("table", f"{table!r} is not a FORMAT.md file (one of: {', '.join(SPECS)})")
            return m
        m.table = table
        self.read_columns(data)
        self.read_constants(data)
        self.read_values(data)
        self.read_formats(data)
        self.read_rows(data)
        if "stages" in data:
            self.read_stages(data["stages"])
        if isinstance(data.get("columns"), dict):
            self.check_required()
        return m

    def read_columns(self, data) -> None:
        if "columns" not in data:
            self.problems.add(self.m.file, 1, None, "columns: is missing; map FORMAT.md columns to the CSV's columns")
            return
        for column, source in self.mapping("columns", data["columns"]).items():
            key = f"columns.{column}"
            name = self.source(key, self.text(key, source))
            if self.format_column(key, column) and name is not None:
                self.m.columns[column] = name

    def read_constants(self, data) -> None:
        for column, value in self.mapping("constants", data.get("constants", {})).items():
            key = f"constants.{column}"
            if not self.format_column(key, column):
                continue
            if column in self.m.columns or f"columns.{column}" in self.m.lines:
                self.problem(key, "is also mapped under columns; give one of the two")
                continue
            value = self.text(key, value, empty_ok=True)
            choices = SPECS[self.m.table].column(column).choices
            if choices and value and value not in choices:
                self.problem(key, f"{value!r} is not one of: {', '.join(choices)}")
                continue
            self.m.constants[column] = value or None

    def read_values(self, data) -> None:
        for column, vmap in self.mapping("values", data.get("values", {})).items():
            key = f"values.{column}"
            if not self.format_column(key, column):
                continue
            if column not in self.m.columns:
                self.problem(key, f"maps values of {column!r}, which is not mapped under columns")
                continue
            choices = SPECS[self.m.table].column(column).choices
            out: dict[str, str | None] = {}
            for source, target in self.mapping(key, vmap).items():
                target = self.text(f"{key}.{source}", target, empty_ok=True)
                if choices and target and target not in choices:
                    self.problem(f"{key}.{source}", f"{target!r} is not one of: {', '.join(choices)}")
                out[source.strip()] = target or None
            self.m.values[column] = out

    def read_formats(self, data) -> None:
        m = self.m
        if "date_format" in data:
            m.date_format = self.text("date_format", data["date_format"])
            if m.date_format is not None:
                try:
                    reader_for(m.date_format)
                except ValueError as exc:
                    self.problem("date_format", str(exc))
                    m.date_format = None
        for key, allowed, what in (("decimal", DECIMAL_MARKS, "decimal mark"),
                                   ("thousands", THOUSANDS_SEPARATORS, "thousands separator")):
            value = data.get(key)
            if value is None:
                continue  # not given, or empty: the default
            if not isinstance(value, str):
                self.problem(key, f"must be text, not {_kind(value)}")
            elif value not in allowed:  # not stripped: a thousands separator may be one space
                self.problem(key, f"{value!r} is not a {what} bestby reads (one of: "
                                  f"{', '.join(repr(a) for a in allowed)})")
            else:
                setattr(m, key, value)
        if m.thousands is not None and m.thousands == (m.decimal or "."):
            self.problem("thousands", f"{m.thousands!r} is also the decimal mark"
                                      + ("" if m.decimal else " ('.' unless decimal says otherwise)"))
        if "keep_other_columns" in data:
            value = data["keep_other_columns"]
            flag = _BOOLS.get(value.strip().lower()) if isinstance(value, str) else None
            if flag is None:
                self.problem("keep_other_columns", f"must be true or false, not {value!r}")
            else:
                m.keep_other_columns = flag

    def read_rows(self, data) -> None:
        m = self.m
        if "ignore" in data:
            for i, name in enumerate(self.texts("ignore", data["ignore"])):
                key = f"ignore[{i}]" if isinstance(data["ignore"], list) else "ignore"
                hit = self.source(key, name)
                if hit is not None:
                    m.ignore.append(hit)
        for name, values in self.mapping("skip", data.get("skip", {})).items():
            hit = self.source(f"skip.{name}", name)
            if hit is not None:
                m.skip[hit] = {v.strip() for v in self.texts(f"skip.{name}", values)}
        if m.keep_other_columns:
            used = set(m.columns.values()) | set(m.ignore)
            for h in self.header:
                if h not in used and h in SPECS[m.table].column_names:
                    self.problems.add(m.file, m.line("columns") or 1, None,
                                      f"columns: {self.csv_name} has a column {h!r}, which is the name of a "
                                      f"FORMAT.md column but is not mapped; map it ({h}: {h}) or list it under ignore")

    def read_stages(self, value) -> None:
        m = self.m
        if m.table != "deals":
            self.problem("stages", "only a deals mapping declares stages")
            return
        if not isinstance(value, list) or not value:
            self.problem("stages", f"must be a list of the pipeline's stages in order, not {_kind(value)}")
            return
        stages: list[Stage] = []
        for i, item in enumerate(value):
            key = f"stages[{i}]"
            if isinstance(item, str):
                item = {"stage": item}
            elif not isinstance(item, dict):
                self.problem(key, f"must be a stage name or a mapping (stage, kind, probability), not {_kind(item)}")
                continue
            for extra in set(item) - {"stage", "kind", "probability"}:
                self.problem(f"{key}.{extra}", "is not a key of a stage (stage, kind, probability)")
            if "stage" not in item:
                self.problem(f"{key}.stage", "is missing: every stage needs its name")
                continue
            name = self.text(f"{key}.stage", item["stage"])
            if name is None:
                continue
            if name in {s.name for s in stages}:
                self.problem(key, f"stage {name!r} is listed twice")
                continue
            kind = self.text(f"{key}.kind", item["kind"]) if "kind" in item else derive_stages([name], {})[0].kind
            if kind not in STAGE_KINDS:
                self.problem(f"{key}.kind", f"{kind!r} is not one of: {', '.join(STAGE_KINDS)}")
                continue
            probability = None
            if item.get("probability") is not None:
                try:
                    probability = float(self.text(f"{key}.probability", item["probability"]) or "")
                except ValueError:
                    probability = -1.0
                if not 0 <= probability <= 1:
                    self.problem(f"{key}.probability", f"{item['probability']!r} is not a number from 0 to 1")
                    continue
            stages.append(Stage(name, kind, probability, m.line(key)))
        if stages and not any(s.kind == "open" for s in stages):
            self.problem("stages", "has no open stage; a deal enters the pipeline in the first open stage")
        m.stages = stages

    def check_required(self) -> None:
        m = self.m
        for column in SPECS[m.table].required:
            if column in m.columns or f"columns.{column}" in m.lines:
                continue  # mapped (a problem with its source is reported already)
            if m.constants.get(column):
                continue
            self.problems.add(m.file, m.line("columns") or 1, None,
                              f"columns: FORMAT.md {m.table}.{column} is required; map it to a column of "
                              f"{self.csv_name} or give it under constants")


def read_mapping(path: Path, header: list[str], csv_name: str, problems: ProblemCollector) -> Mapping:
    """Read and check the mapping file at ``path`` for a CSV with ``header``; problems go to ``problems``."""
    reader = _Reader(path.name, header, csv_name, problems)
    if not path.is_file():
        problems.add(str(path), None, None, "the mapping file does not exist" if not path.exists()
                     else "is not a file; give the mapping file (YAML)")
        return reader.m
    try:
        node = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        problems.add(path.name, None, None, f"is not valid UTF-8 (byte {exc.start}); save it as UTF-8")
        return reader.m
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = " ".join(str(p) for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p) or str(exc)
        problems.add(path.name, mark.line + 1 if mark else None, None, f"is not valid YAML: {what}")
        return reader.m
    if node is None:
        problems.add(path.name, None, None, "the mapping file is empty; it needs at least table and columns")
        return reader.m
    return reader.read(reader.plain(node, ""))


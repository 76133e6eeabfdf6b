"""Map Maven Analytics' "CRM Sales Opportunities" data set into the interchange format.

Pure Python (standard ``csv`` module, no Django, no database): read the four
publisher files from one folder and write a FORMAT.md folder of CSV files that
``bestby import canonical DIR`` loads. The data set and its quirks are described
in ``shared/data/maven-crm-sales-opportunities/SOURCE.md``.

Specification
=============

Input (folder ``src``), UTF-8 CSV with a header row; every column listed here
must be present (extra columns are ignored and named in a note):

* ``sales_teams.csv``    sales_agent, manager, regional_office
* ``accounts.csv``       account, sector, year_established, revenue, employees,
  office_location, subsidiary_of
* ``products.csv``       product, series, sales_price
* ``sales_pipeline.csv`` opportunity_id, sales_agent, product, account,
  deal_stage, engage_date, close_date, close_value

Output (folder ``out``, created if needed): ``users.csv``, ``stages.csv``,
``accounts.csv``, ``products.csv``, ``deals.csv``, ``stage_events.csv``. Each
has exactly the columns of ``bestby.format.SPECS[name].column_names`` in that
order, followed by the custom columns named below (FORMAT.md keeps unknown
columns as custom fields). Written with ``csv`` (RFC 4180 quoting, LF line
endings, UTF-8). Timestamps are bare ISO dates ``YYYY-MM-DD``. Other files in
``out`` are left alone. Nothing is written unless the whole input is valid.

Ids
    ``slug(name)``: the name folded to ASCII, lower case, every run of
    characters other than ``a-z0-9`` replaced by one ``-``, stripped of ``-``
    at both ends ("Moses Frase" -> ``moses-frase``, "Gekko & Co" ->
    ``gekko-co``). Two different names with the same slug, or a name with an
    empty slug, is an error. Deals keep the publisher's ``opportunity_id``.

users.csv
    One user per sales agent: ``user_id`` = slug(sales_agent), ``role`` =
    ``rep``, ``team`` = ``territory`` = regional_office, ``manager_id`` =
    slug(manager). One user per distinct manager: ``role`` = ``manager``,
    ``team`` = ``territory`` = the regional office of their agents (an error if
    their agents sit in more than one office), no manager. Managers are written
    first so every ``manager_id`` points back. Names must be unique: an agent
    listed twice, or a name that is both an agent and a manager, is an error.
    Agents without deals are users too. ``email`` is empty (the source has none).

stages.csv
    One pipeline ``maven``: Prospecting (1, open), Engaging (2, open), Won (3,
    won), Lost (4, lost). ``probability`` is empty (the source gives none).

accounts.csv
    ``account_id`` = slug(account), ``name`` = account, ``sector`` as published
    (typos such as ``technolgy`` are kept and named in a note),
    ``annual_revenue`` = revenue **as published, not rescaled** (the unit is
    undocumented, presumably millions of USD; a note says so), ``employees``,
    ``territory`` = office_location (typos such as ``Philipines`` kept),
    ``parent_account_id`` = slug(subsidiary_of), which must name an account in
    the file. Parents are written before their subsidiaries; a cycle is an
    error. ``payment_terms_days`` and ``created_at`` are empty. Custom columns:
    ``year_established``, ``office_location``.

products.csv
    ``product_id`` = slug(product), ``name`` = product, ``category`` = series,
    ``list_price`` = sales_price, ``unit_cost`` empty. Custom column ``series``.

deals.csv
    One deal per sales_pipeline row, all of them: ``deal_id`` =
    opportunity_id, ``pipeline`` = ``maven``, ``name`` empty, ``owner_id`` =
    the agent's user id, ``account_id`` = slug(account) or empty when the
    account is empty, ``product_id``, ``stage`` = deal_stage, ``status`` =
    ``won`` / ``lost`` for Won / Lost, ``open`` for Engaging and Prospecting,
    ``currency`` empty (the source names none: the workspace currency),
    ``lost_reason`` and ``source`` empty.

    A deal's product is matched on its exact name first, then on the name with
    whitespace removed and case folded: ``GTXPro`` in sales_pipeline.csv is
    ``GTX Pro`` in products.csv. A note counts the rows matched that way.

    ``amount``: Won -> close_value. Lost -> the product's list price, because
    the publisher writes close_value 0 on every lost deal, which would make
    every lost deal worthless; the list price is what was at stake (won
    close_value / list price has median 1.00). Engaging and Prospecting ->
    the product's list price as the expected amount (close_value is empty).
    Custom column ``amount_estimated`` = ``true`` when the amount is the list
    price, empty otherwise; custom column ``close_value`` keeps the published
    value unchanged.

    ``created_at`` = engage_date. Prospecting rows have no engage_date, but
    ``created_at`` is required: it is set to the data set's last date (the
    maximum of every engage_date and close_date in sales_pipeline.csv,
    2017-12-31 in the published data), the latest date at which the deal is
    known to exist, and the custom column ``created_at_estimated`` = ``true``
    marks those rows (empty otherwise).

    ``closed_at`` = close_date for Won / Lost, empty for open deals.
    ``close_date`` (the expected close) = close_date for Won / Lost (the only
    close date the source knows), empty for open deals.

stage_events.csv
    The source has no stage history, only the current stage and two dates, so
    these are the events the dates justify: every deal enters the pipeline at
    its ``created_at`` (``from_stage`` empty) in ``Engaging`` -- or in
    ``Prospecting`` for a Prospecting deal, at the estimated date -- and every
    Won / Lost deal moves from ``Engaging`` to ``Won`` / ``Lost`` at
    close_date. That is one event per deal plus one per closed deal.

Validation (``ValueError``, before anything is written)
    * a missing input file (message names the file), a file without header, a
      missing expected column (message names file and column);
    * a row with more or fewer cells than the header;
    * in any file, a reference that does not resolve -- a deal's sales_agent,
      product or account, an account's subsidiary_of -- and a malformed value
      (dates that are not ``YYYY-MM-DD``, non-decimal money, non-integer
      employees, an unknown deal_stage, a duplicate or empty id, a Won/Lost row
      without engage_date, close_date or close_value, an open row with a
      close_date or close_value, an Engaging row without engage_date, a close
      before the engage date): the message names file, line number and column;
    * a value the store cannot hold, before the canonical import would refuse it
      in a file the user never saw: a NUL character in any cell, a date outside
      1900-01-01..2199-12-31, a revenue, employee count, sales price or close
      value outside the range of the column it is written to (``bestby.columns``;
      e.g. a close value of 1e20, more than the 16 digits before the point a deal
      amount keeps). Extra decimal places are rounded by the import, not refused.
      The numbers' ranges are read off the models (``bestby.columns``), so they
      are checked here when Django is set up, as it is on the command line;
      without it (the mapping alone) the canonical import refuses them.

Every decision that changed or invented data is reported, with its count, in
``MavenReport.notes``; ``MavenReport.counts`` gives the rows written per file.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bestby.bounds import DATES, OutOfBounds, check_text
from bestby.format import SPECS
from bestby.importers.problems import ProblemCollector
from bestby.importers.readers import open_input

__all__ = ["MavenReport", "maven_to_canonical", "slug", "PIPELINE", "STAGES"]

PIPELINE = "maven"

#: stage -> (position, kind); a deal's status is the kind of its stage
STAGES: dict[str, tuple[int, str]] = {
    "Prospecting": (1, "open"),
    "Engaging": (2, "open"),
    "Won": (3, "won"),
    "Lost": (4, "lost"),
}

#: the columns each input file must have
INPUTS: dict[str, tuple[str, ...]] = {
    "sales_teams.csv": ("sales_agent", "manager", "regional_office"),
    "accounts.csv": ("account", "sector", "year_established", "revenue", "employees",
                     "office_location", "subsidiary_of"),
    "products.csv": ("product", "series", "sales_price"),
    "sales_pipeline.csv": ("opportunity_id", "sales_agent", "product", "account", "deal_stage",
                           "engage_date", "close_date", "close_value"),
}

#: custom columns appended after the canonical ones, per output file
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (),
    "stages": (),
    "accounts": ("year_established", "office_location"),
    "products": ("series",),
    "deals": ("close_value", "amount_estimated", "created_at_estimated"),
    "stage_events": (),
}

#: publisher typos that are kept as published (and reported)
KNOWN_TYPOS = {"sector": ("technolgy",), "office_location": ("Philipines",)}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


@dataclass
class MavenReport:
    """What the mapping did, for the CLI to print."""

    counts: dict[str, int] = field(default_factory=dict)  # rows written per canonical file
    notes: list[str] = field(default_factory=list)  # every decision that changed or invented data


def slug(name: str) -> str:
    """A stable id from a name: ASCII, lower case, runs of other characters -> ``-``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _product_key(name: str) -> str:
    """The loose product key: whitespace removed, case folded (``GTX Pro`` == ``GTXPro``)."""
    return "".join(name.split()).casefold()


def _err(file: str, line: int, column: str, message: str) -> ValueError:
    return ValueError(f"{file}, line {line}, column {column}: {message}")


def _fmt(n: int) -> str:
    return f"{n:,}"


# --------------------------------------------------------------------------- reading


@dataclass
class _Rows:
    file: str
    rows: list[tuple[int, dict[str, str]]]  # (line number, row)
    ignored_columns: tuple[str, ...]


def _read(src: Path, name: str) -> _Rows:
    path = src / name
    if not path.exists():
        raise ValueError(f"{name}: input file not found (looked for {path})")
    problems = ProblemCollector()
    raw = open_input(path, problems)  # a folder, a device, a pipe or a file past BESTBY_MAX_IMPORT_MB: refused
    if raw is None:
        raise ValueError(str(problems.problems[0]))
    expected = INPUTS[name]
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{name}: the file is empty (no header row)")
        missing = [c for c in expected if c not in header]
        if missing:
            cols = ", ".join(missing)
            raise ValueError(f"{name}: missing column{'s' if len(missing) > 1 else ''} {cols} "
                             f"(header: {','.join(header)})")
        dupes = sorted(c for c, n in Counter(header).items() if n > 1 and c in expected)
        if dupes:
            raise ValueError(f"{name}: column {', '.join(dupes)} appears more than once in the header")
        index = {c: header.index(c) for c in expected}
        rows: list[tuple[int, dict[str, str]]] = []
        for cells in reader:
            line = reader.line_num
            if not cells:  # a blank line is not a row
                continue
            if len(cells) != len(header):
                raise _err(name, line, "*", f"{len(cells)} cells, the header has {len(header)}")
            row = {c: cells[i] for c, i in index.items()}
            if "\x00" in "".join(row.values()):
                column = next(c for c, v in row.items() if "\x00" in v)
                try:
                    check_text(column, row[column])
                except OutOfBounds as exc:
                    raise _err(name, line, column, exc.message) from None
            rows.append((line, row))
    ignored = tuple(c for c in header if c not in expected)
    return _Rows(name, rows, ignored)


def _decimal(file: str, line: int, column: str, value: str) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        raise _err(file, line, column, f"{value!r} is not a decimal number")
    return d


def _bounded(file: str, line: int, column: str, value, target: str) -> None:
    """Refuse ``value`` of ``column`` when the store's column ``target`` ("app.Model.field") cannot hold it."""
    from django.apps import apps

    if not apps.ready:  # the mapping alone, without Django: the canonical import checks the value
        return
    from bestby.columns import check

    model, _, field_name = target.rpartition(".")
    try:
        check(model, field_name, value, name=column, rounding=True)
    except OutOfBounds as exc:
        raise _err(file, line, column, exc.message) from None


def _int(file: str, line: int, column: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _err(file, line, column, f"{value!r} is not a whole number") from None


def _date(file: str, line: int, column: str, value: str) -> date | None:
    if value == "":
        return None
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise _err(file, line, column, f"{value!r} is not a date YYYY-MM-DD") from None
    try:
        return DATES.check(column, day)
    except OutOfBounds as exc:
        raise _err(file, line, column, exc.message) from None


def _id(file: str, line: int, column: str, name: str, seen: dict[str, str]) -> str:
    """slug(name), checked to be non-empty and not shared with another name."""
    if name == "":
        raise _err(file, line, column, "empty name")
    s = slug(name)
    if not s:
        raise _err(file, line, column, f"{name!r} gives an empty id")
    other = seen.get(s)
    if other is not None:
        if other == name:
            raise _err(file, line, column, f"{name!r} is listed more than once")
        raise _err(file, line, column, f"{name!r} and {other!r} give the same id {s!r}")
    seen[s] = name
    return s


# --------------------------------------------------------------------------- mapping


def _users(teams: _Rows, notes: list[str]) -> tuple[list[dict], dict[str, str]]:
    """users rows (managers first) and agent name -> user id."""
    f = teams.file
    seen: dict[str, str] = {}
    agents: dict[str, str] = {}
    agent_rows: list[dict] = []
    managers: dict[str, dict] = {}  # manager name -> row
    manager_offices: dict[str, set[str]] = {}
    manager_lines: dict[str, int] = {}
    for line, r in teams.rows:
        agent, manager, office = r["sales_agent"], r["manager"], r["regional_office"]
        uid = _id(f, line, "sales_agent", agent, seen)
        agents[agent] = uid
        mid = ""
        if manager:
            if manager not in managers:
                manager_lines[manager] = line
                managers[manager] = {"user_id": slug(manager), "name": manager, "role": "manager"}
            manager_offices.setdefault(manager, set()).add(office)
            mid = slug(manager)
        agent_rows.append({"user_id": uid, "name": agent, "email": "", "role": "rep",
                           "manager_id": mid, "team": office, "territory": office})
    manager_rows: list[dict] = []
    for manager, row in managers.items():
        line = manager_lines[manager]
        if manager in agents:
            raise _err(f, line, "manager", f"{manager!r} is both a sales agent and a manager")
        _id(f, line, "manager", manager, seen)
        offices = manager_offices[manager]
        if len(offices) > 1:
            raise _err(f, line, "manager",
                       f"{manager!r} manages agents in several offices: {', '.join(sorted(offices))}")
        (office,) = offices
        manager_rows.append({**row, "email": "", "manager_id": "", "team": office,
                             "territory": office})
    notes.append(
        f"users: {_fmt(len(agent_rows))} sales agents (role rep, team and territory = "
        f"regional_office) and {_fmt(len(manager_rows))} managers (role manager, team and "
        f"territory = their agents' regional office, which the source does not give for "
        f"managers) written as {_fmt(len(agent_rows) + len(manager_rows))} users; user ids are "
        f"slugs of the names; email is empty (the source has none).")
    return manager_rows + agent_rows, agents


def _accounts(accts: _Rows, notes: list[str]) -> tuple[list[dict], dict[str, str]]:
    """accounts rows (parents first) and account name -> account id."""
    f = accts.file
    seen: dict[str, str] = {}
    ids: dict[str, str] = {}
    rows: dict[str, dict] = {}
    parent_of: dict[str, str] = {}
    for line, r in accts.rows:
        aid = _id(f, line, "account", r["account"], seen)
        ids[r["account"]] = aid
        if r["revenue"]:
            _bounded(f, line, "revenue", _decimal(f, line, "revenue", r["revenue"]), "accounts.Account.annual_revenue")
        if r["employees"]:
            _bounded(f, line, "employees", _int(f, line, "employees", r["employees"]), "accounts.Account.employees")
        rows[aid] = {
            "account_id": aid, "name": r["account"], "sector": r["sector"],
            "territory": r["office_location"], "employees": r["employees"],
            "annual_revenue": r["revenue"], "parent_account_id": "", "payment_terms_days": "",
            "created_at": "", "year_established": r["year_established"],
            "office_location": r["office_location"],
        }
    for line, r in accts.rows:
        parent = r["subsidiary_of"]
        if parent:
            if parent not in ids:
                raise _err(f, line, "subsidiary_of", f"unknown account {parent!r}")
            aid = ids[r["account"]]
            if ids[parent] == aid:
                raise _err(f, line, "subsidiary_of", f"{parent!r} is its own parent")
            rows[aid]["parent_account_id"] = ids[parent]
            parent_of[aid] = ids[parent]

    ordered: list[dict] = []
    done: set[str] = set()

    def emit(aid: str, path: tuple[str, ...]) -> None:
        if aid in done:
            return
        if aid in path:
            raise ValueError(f"{f}: subsidiary_of forms a cycle: {' -> '.join(path + (aid,))}")
        if aid in parent_of:
            emit(parent_of[aid], path + (aid,))
        done.add(aid)
        ordered.append(rows[aid])

    for aid in rows:
        emit(aid, ())

    notes.append(
        f"accounts: annual_revenue is the publisher's revenue column unchanged for "
        f"{_fmt(sum(1 for _, r in accts.rows if r['revenue']))} accounts; its unit is not "
        f"documented (presumably millions of USD), so the numbers are not rescaled to units of "
        f"currency.")
    for column, typos in KNOWN_TYPOS.items():
        for typo in typos:
            n = sum(1 for _, r in accts.rows if r[column] == typo)
            if n:
                where = "sector" if column == "sector" else "territory (and office_location)"
                notes.append(f"accounts: the publisher's typo {column} {typo!r} is kept as "
                             f"published in {where} for {_fmt(n)} "
                             f"account{'' if n == 1 else 's'}.")
    return ordered, ids


def _products(prods: _Rows) -> tuple[list[dict], dict[str, dict], dict[str, dict]]:
    """products rows, exact name -> row, loose key -> row."""
    f = prods.file
    seen: dict[str, str] = {}
    rows: list[dict] = []
    by_name: dict[str, dict] = {}
    by_key: dict[str, dict] = {}
    for line, r in prods.rows:
        pid = _id(f, line, "product", r["product"], seen)
        if r["sales_price"]:
            # the list price, and the amount of the lost and open deals of the product
            price = _decimal(f, line, "sales_price", r["sales_price"])
            _bounded(f, line, "sales_price", price, "commerce.Product.list_price")
            _bounded(f, line, "sales_price", price, "pipeline.Deal.amount")
        row = {"product_id": pid, "name": r["product"], "category": r["series"],
               "list_price": r["sales_price"], "unit_cost": "", "series": r["series"]}
        key = _product_key(r["product"])
        if key in by_key:
            raise _err(f, line, "product", f"{r['product']!r} and {by_key[key]['name']!r} are "
                       "the same product once spaces and case are ignored")
        by_key[key] = row
        by_name[r["product"]] = row
        rows.append(row)
    return rows, by_name, by_key


def maven_to_canonical(src: Path, out: Path) -> MavenReport:
    """Read the four Maven CSV files in ``src``, write the canonical files into ``out``."""
    src, out = Path(src), Path(out)
    inputs = {name: _read(src, name) for name in INPUTS}
    notes: list[str] = []
    for rows in inputs.values():
        if rows.ignored_columns:
            notes.append(f"{rows.file}: column{'s' if len(rows.ignored_columns) > 1 else ''} "
                         f"{', '.join(rows.ignored_columns)} not part of the data set, ignored.")

    users, agent_ids = _users(inputs["sales_teams.csv"], notes)
    accounts, account_ids = _accounts(inputs["accounts.csv"], notes)
    products, product_by_name, product_by_key = _products(inputs["products.csv"])

    # -- deals: first pass validates and parses, and finds the data set's last date
    f = inputs["sales_pipeline.csv"].file
    parsed: list[tuple[dict[str, str], dict, date | None, date | None, str]] = []
    deal_ids: set[str] = set()
    loose_matches: Counter[tuple[str, str]] = Counter()
    agents_with_deals: set[str] = set()
    dates: list[date] = []
    for line, r in inputs["sales_pipeline.csv"].rows:
        did = r["opportunity_id"]
        if not did:
            raise _err(f, line, "opportunity_id", "empty id")
        if did in deal_ids:
            raise _err(f, line, "opportunity_id", f"{did!r} appears more than once")
        deal_ids.add(did)
        if r["sales_agent"] not in agent_ids:
            raise _err(f, line, "sales_agent",
                       f"unknown sales agent {r['sales_agent']!r} (not in sales_teams.csv)")
        agents_with_deals.add(r["sales_agent"])
        name = r["product"]
        product = product_by_name.get(name)
        if product is None:
            product = product_by_key.get(_product_key(name)) if name else None
            if product is None:
                raise _err(f, line, "product", f"unknown product {name!r} (not in products.csv)")
            loose_matches[(name, product["name"])] += 1
        if r["account"] and r["account"] not in account_ids:
            raise _err(f, line, "account", f"unknown account {r['account']!r} (not in accounts.csv)")
        stage = r["deal_stage"]
        if stage not in STAGES:
            raise _err(f, line, "deal_stage",
                       f"unknown stage {stage!r} (expected one of {', '.join(STAGES)})")
        engaged = _date(f, line, "engage_date", r["engage_date"])
        closed = _date(f, line, "close_date", r["close_date"])
        kind = STAGES[stage][1]
        if kind == "open":
            for column in ("close_date", "close_value"):
                if r[column]:
                    raise _err(f, line, column, f"an open deal ({stage}) has a {column}")
            if stage != "Prospecting" and engaged is None:
                raise _err(f, line, "engage_date", f"a {stage} deal without engage_date")
        else:
            for column in ("engage_date", "close_date", "close_value"):
                if not r[column]:
                    raise _err(f, line, column, f"a {stage} deal without {column}")
            _bounded(f, line, "close_value", _decimal(f, line, "close_value", r["close_value"]), "pipeline.Deal.amount")
            if closed < engaged:
                raise _err(f, line, "close_date",
                           f"close_date {closed} is before engage_date {engaged}")
        if kind != "won" and not product["list_price"]:
            raise _err(f, line, "product", f"a {stage} deal's amount is the list price, but "
                       f"product {product['name']!r} has no sales_price")
        dates.extend(d for d in (engaged, closed) if d is not None)
        parsed.append((r, product, engaged, closed, stage))

    last_date = max(dates).isoformat() if dates else None

    # -- second pass: deals and their stage events
    deals: list[dict] = []
    events: list[dict] = []
    n_estimated_created = Counter()
    n_list_price = Counter()
    n_no_account = Counter()
    n_entry = Counter()
    n_close = 0
    for r, product, engaged, closed, stage in parsed:
        kind = STAGES[stage][1]
        if engaged is not None:
            created, estimated = engaged.isoformat(), ""
        else:
            if last_date is None:  # pragma: no cover - only Prospecting rows and no date anywhere
                raise ValueError(f"{f}: no engage_date or close_date anywhere, so the created_at "
                                 "of Prospecting deals cannot be estimated")
            created, estimated = last_date, "true"
            n_estimated_created[stage] += 1
        if kind == "won":
            amount, amount_estimated = r["close_value"], ""
        else:
            amount, amount_estimated = product["list_price"], "true"
            n_list_price[stage] += 1
        if not r["account"]:
            n_no_account[stage] += 1
        close = closed.isoformat() if closed is not None and kind != "open" else ""
        deals.append({
            "deal_id": r["opportunity_id"], "pipeline": PIPELINE, "name": "",
            "account_id": account_ids[r["account"]] if r["account"] else "",
            "owner_id": agent_ids[r["sales_agent"]], "amount": amount, "currency": "",
            "created_at": created, "stage": stage, "status": kind, "closed_at": close,
            "close_date": close, "lost_reason": "", "source": "",
            "product_id": product["product_id"], "close_value": r["close_value"],
            "amount_estimated": amount_estimated, "created_at_estimated": estimated,
        })
        entry = "Prospecting" if stage == "Prospecting" else "Engaging"
        events.append({"deal_id": r["opportunity_id"], "at": created, "to_stage": entry,
                       "from_stage": ""})
        n_entry[entry] += 1
        if kind != "open":
            events.append({"deal_id": r["opportunity_id"], "at": close, "to_stage": stage,
                           "from_stage": entry})
            n_close += 1

    # -- notes on the deals
    idle = [u for u in agent_ids if u not in agents_with_deals]
    if idle:
        notes.append(f"users: {_fmt(len(idle))} sales agents have no deals and are written as "
                     f"users all the same: {', '.join(idle)}.")
    for (pipeline_name, product_name), n in sorted(loose_matches.items()):
        notes.append(f"deals: {_fmt(n)} rows name the product {pipeline_name!r}, matched to "
                     f"{product_name!r} in products.csv by ignoring spaces and case.")
    if n_list_price.get("Lost"):
        notes.append(
            f"deals: {_fmt(n_list_price['Lost'])} Lost deals have close_value 0 in the source; "
            f"their amount is the product's list price (what was at stake), marked "
            f"amount_estimated=true; the published value stays in the custom column close_value.")
    n_open_priced = sum(n for s, n in n_list_price.items() if STAGES[s][1] == "open")
    if n_open_priced:
        detail = ", ".join(f"{_fmt(n)} {s}" for s, n in n_list_price.items()
                           if STAGES[s][1] == "open")
        notes.append(
            f"deals: {_fmt(n_open_priced)} open deals ({detail}) have no close_value; their "
            f"amount is the product's list price as the expected amount, marked "
            f"amount_estimated=true.")
    if n_estimated_created:
        total = sum(n_estimated_created.values())
        detail = ", ".join(f"{_fmt(n)} {s}" for s, n in n_estimated_created.items())
        notes.append(
            f"deals: {_fmt(total)} deals ({detail}) have no engage_date, but created_at is "
            f"required; it is set to {last_date}, the data set's last date (the latest "
            f"engage_date or close_date), and marked created_at_estimated=true.")
    if n_no_account:
        total = sum(n_no_account.values())
        detail = ", ".join(f"{_fmt(n)} {s}" for s, n in n_no_account.items())
        notes.append(f"deals: {_fmt(total)} deals ({detail}) have no account in the source; "
                     f"account_id is left empty.")
    notes.append("deals: closed deals get close_date (the expected close) = closed_at = the "
                 "source's close_date; open deals have neither. Currency is left empty (the "
                 "source names none), so amounts are read in the workspace currency.")
    entries = ", ".join(f"{_fmt(n)} into {s}" for s, n in n_entry.items())
    notes.append(
        f"stage_events: the source has no stage history, only each deal's current stage and "
        f"dates, so only the events those dates justify are written: "
        f"{_fmt(sum(n_entry.values()))} entries at created_at ({entries}) and {_fmt(n_close)} "
        f"closes from Engaging to Won or Lost at close_date, {_fmt(len(events))} in all.")
    notes.append("stages: pipeline 'maven' = Prospecting, Engaging (open), Won, Lost; the source "
                 "gives no probabilities, so probability is empty.")

    stages = [{"pipeline": PIPELINE, "stage": s, "position": pos, "kind": kind,
               "probability": ""} for s, (pos, kind) in STAGES.items()]

    outputs = {"users": users, "stages": stages, "accounts": accounts, "products": products,
               "deals": deals, "stage_events": events}
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in outputs.items():
        _write(out / f"{name}.csv", SPECS[name].column_names + EXTRA_COLUMNS[name], rows)
    return MavenReport(counts={name: len(rows) for name, rows in outputs.items()}, notes=notes)


def _write(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)

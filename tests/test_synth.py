"""The synthetic generator writes a valid, consistent, deterministic FORMAT.md folder.

Files are read back with Python's csv module (an independent reader), never with
the generator's own code.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bestby.format import SPECS
from bestby.synth import DEFAULT_AS_OF, FILE_NAMES, QUIET_COLUMN, write_synth

DEALS = 2000
SEED = 7

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
DEC2 = re.compile(r"^-?\d+\.\d\d$")
INT = re.compile(r"^-?\d+$")


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / f"{name}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def header(folder: Path, name: str) -> list[str]:
    with open(folder / f"{name}.csv", newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth_csv")
    calls: list[tuple[str, int, int]] = []
    summary = write_synth(folder, deals=DEALS, seed=SEED, progress=lambda *a: calls.append(a))
    return folder, summary, calls


@pytest.fixture(scope="module")
def folder(run) -> Path:
    return run[0]


@pytest.fixture(scope="module")
def data(folder) -> dict[str, list[dict[str, str]]]:
    return {name: read(folder, name) for name in FILE_NAMES}


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --------------------------------------------------------------------------- files and determinism


def test_every_file_with_the_spec_columns_in_order(folder, run):
    summary = run[1]
    assert set(FILE_NAMES) == set(SPECS)
    for name in FILE_NAMES:
        expected = list(SPECS[name].column_names) + ([QUIET_COLUMN] if name == "deals" else [])
        assert header(folder, name) == expected, name
        assert summary.rows[name] == len(read(folder, name)), name
    # the header is plain (no quotes) and lines end with a bare newline
    raw = (folder / "deals.csv").read_bytes()
    assert raw.startswith(b"deal_id,pipeline,name,")
    assert b"\r" not in raw


def test_same_seed_gives_the_same_bytes(tmp_path, folder):
    again = tmp_path / "again"
    write_synth(again, deals=DEALS, seed=SEED)
    for name in FILE_NAMES:
        assert (again / f"{name}.csv").read_bytes() == (folder / f"{name}.csv").read_bytes(), name


def test_chunked_writing_gives_the_same_bytes(tmp_path, folder, monkeypatch):
    import bestby.synth

    monkeypatch.setattr(bestby.synth, "CHUNK", 997)  # many chunks, boundaries anywhere
    write_synth(tmp_path, deals=DEALS, seed=SEED)
    for name in FILE_NAMES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (folder / f"{name}.csv").read_bytes(), name


def test_another_seed_gives_other_data(tmp_path, folder):
    write_synth(tmp_path, deals=DEALS, seed=SEED + 1)
    assert (tmp_path / "deals.csv").read_bytes() != (folder / "deals.csv").read_bytes()


def test_progress_is_reported_per_file(run):
    calls = run[2]
    seen = {c[0] for c in calls}
    assert set(FILE_NAMES) <= seen
    for name in FILE_NAMES:
        mine = [c for c in calls if c[0] == name]
        assert mine[-1][1] == mine[-1][2], name
        assert [c[1] for c in mine] == sorted(c[1] for c in mine)


def test_empty_cells_are_empty_not_quoted(folder, data):
    for name in FILE_NAMES:
        raw = (folder / f"{name}.csv").read_text(encoding="utf-8")
        assert not re.search(r'(^|,)""(,|$)', raw, re.MULTILINE), name
    assert any(r["closed_at"] == "" for r in data["deals"])
    # text with commas and quotes is quoted per RFC 4180 and reads back intact
    reasons = {r["lost_reason"] for r in data["deals"]}
    assert 'Went with "status quo"' in reasons or "Budget cut, revisit next year" in reasons


# --------------------------------------------------------------------------- values


def test_keys_are_unique(data):
    for name in FILE_NAMES:
        key = SPECS[name].key
        if not key:
            continue
        values = [tuple(r[k] for k in key) for r in data[name]]
        assert len(values) == len(set(values)), name
        assert all(all(v) for v in values), name


def test_every_reference_exists(data):
    ids = {name: {r[SPECS[name].key[0]] for r in data[name]} for name in FILE_NAMES if len(SPECS[name].key) == 1}
    checked = 0
    for name in FILE_NAMES:
        for col in SPECS[name].columns:
            if col.ref:
                for row in data[name]:
                    value = row[col.name]
                    if value:
                        assert value in ids[col.ref], (name, col.name, value)
                        checked += 1
    assert checked > 10 * DEALS


def test_required_values_enums_and_formats(data):
    stages = {r["stage"] for r in data["stages"]}
    for name in FILE_NAMES:
        for col in SPECS[name].columns:
            values = [r[col.name] for r in data[name]]
            if col.required:
                assert all(values), (name, col.name)
            present = [v for v in values if v]
            if col.choices:
                assert set(present) <= set(col.choices), (name, col.name, set(present) - set(col.choices))
            pattern = {"ts": TS, "date": DATE, "decimal": DEC2, "int": INT}.get(col.type)
            if pattern:
                bad = [v for v in present if not pattern.match(v)]
                assert not bad, (name, col.name, bad[:3])
    for name, column in (("deals", "stage"), ("stage_events", "to_stage"), ("stage_events", "from_stage")):
        assert {r[column] for r in data[name] if r[column]} <= stages
    # every channel appears, social included
    assert Counter(r["channel"] for r in data["touches"])["social"] > 0
    assert set(SPECS["touches"].column("channel").choices) == {r["channel"] for r in data["touches"]}


def test_nothing_happens_after_as_of(data):
    limit = DEFAULT_AS_OF
    for name, columns in {
        "deals": ("created_at", "closed_at", QUIET_COLUMN), "stage_events": ("at",),
        "close_date_events": ("at",), "touches": ("at",), "leads": ("created_at",),
        "accounts": ("created_at",), "orders": ("ordered_at", "taken_at"),
        "invoices": ("issued_at", "paid_at"),
    }.items():
        for row in data[name]:
            for c in columns:
                if row[c]:
                    assert parse_ts(row[c]) < limit, (name, c, row[c])


def test_team_structure(data):
    users = {r["user_id"]: r for r in data["users"]}
    roles = Counter(r["role"] for r in users.values())
    assert roles["admin"] == 1
    assert roles["rep"] == max(3, round(DEALS / 400))
    assert roles["manager"] >= 1
    teams = defaultdict(list)
    for u in users.values():
        if u["role"] == "rep":
            manager = users[u["manager_id"]]
            assert manager["role"] == "manager" and manager["team"] == u["team"] and u["team"]
            assert u["territory"]
            teams[u["team"]].append(u)
    assert all(2 <= len(m) <= 10 for m in teams.values())
    owners = {r["owner_id"] for r in data["quotas"]}
    assert {f"team:{t}" for t in teams} <= owners
    assert {u for u, r in users.items() if r["role"] == "rep"} <= owners
    # a team's quota is the sum of its reps' for the same period
    amounts = {(r["owner_id"], r["period_start"]): Decimal(r["amount"]) for r in data["quotas"]}
    team, members = next(iter(teams.items()))
    start = data["quotas"][0]["period_start"]
    assert amounts[(f"team:{team}", start)] == sum(amounts[(m["user_id"], start)] for m in members)
    # deals belong to reps
    assert {d["owner_id"] for d in data["deals"]} <= {u for u, r in users.items() if r["role"] == "rep"}


def test_stages_file(data):
    rows = data["stages"]
    assert [r["stage"] for r in rows] == ["Qualify", "1st meeting", "Proof", "2nd meeting", "Proposal",
                                          "Close", "Intake", "Won", "Lost"]
    assert [int(r["position"]) for r in rows] == list(range(1, 10))
    assert [r["kind"] for r in rows] == ["open"] * 7 + ["won", "lost"]
    p = [float(r["probability"]) for r in rows[:8]]
    assert p == sorted(p) and len(set(p)) == 8
    assert {r["pipeline"] for r in rows} == {"default"}


# --------------------------------------------------------------------------- history


def test_stage_events_tell_each_deals_story(data):
    kind = {r["stage"]: r["kind"] for r in data["stages"]}
    position = {r["stage"]: int(r["position"]) for r in data["stages"]}
    events = defaultdict(list)
    for e in data["stage_events"]:
        events[e["deal_id"]].append(e)
    assert set(events) == {d["deal_id"] for d in data["deals"]}
    for d in data["deals"]:
        evs = sorted(events[d["deal_id"]], key=lambda e: e["at"])
        assert evs[0]["from_stage"] == "" and evs[0]["at"] == d["created_at"]
        assert all(b["from_stage"] == a["to_stage"] for a, b in zip(evs, evs[1:]))
        assert all(a["at"] < b["at"] for a, b in zip(evs, evs[1:]))
        assert all(position[e["to_stage"]] > position[e["from_stage"]] for e in evs[1:])  # forward only
        assert d["stage"] == evs[-1]["to_stage"]
        assert d["status"] == kind[d["stage"]]
        if d["status"] == "open":
            assert d["closed_at"] == "" and d["lost_reason"] == ""
        else:
            assert evs[-1]["at"] == d["closed_at"]
        assert bool(d["lost_reason"]) == (d["status"] == "lost")
    per_deal = len(data["stage_events"]) / DEALS
    assert 3.8 <= per_deal <= 5.2, per_deal
    status = Counter(d["status"] for d in data["deals"])
    assert status["won"] > 0.1 * DEALS and status["lost"] > 0.2 * DEALS and status["open"] > 0.1 * DEALS


def test_close_date_events_end_at_the_deals_close_date(data):
    events = defaultdict(list)
    for e in data["close_date_events"]:
        events[e["deal_id"]].append(e)
    pushes = 0
    for d in data["deals"]:
        evs = events[d["deal_id"]]
        assert [e["at"] for e in evs] == sorted(e["at"] for e in evs)
        assert evs[0]["at"] == d["created_at"] and evs[0]["old_close_date"] == ""
        assert all(b["old_close_date"] == a["new_close_date"] for a, b in zip(evs, evs[1:]))
        assert all(a["at"] < b["at"] for a, b in zip(evs, evs[1:]))
        assert d["close_date"] == evs[-1]["new_close_date"]
        if d["closed_at"]:
            assert evs[-1]["at"] <= d["closed_at"]
        pushes += len(evs) - 1
    assert pushes > DEALS  # close dates do get pushed


def test_touches_belong_to_their_deal(data):
    deals = {d["deal_id"]: d for d in data["deals"]}
    contact_account = {c["contact_id"]: c["account_id"] for c in data["contacts"]}
    leads = {r["lead_id"]: r for r in data["leads"]}
    per_deal = Counter()
    for t in data["touches"]:
        assert bool(t["deal_id"]) != bool(t["lead_id"])
        if t["deal_id"]:
            d = deals[t["deal_id"]]
            per_deal[t["deal_id"]] += 1
            assert t["owner_id"] == d["owner_id"] and t["account_id"] == d["account_id"]
            assert contact_account[t["contact_id"]] == d["account_id"]
            assert d["created_at"] <= t["at"]
            if d["closed_at"]:
                assert t["at"] <= d["closed_at"]
        else:
            lead = leads[t["lead_id"]]
            assert t["owner_id"] == lead["owner_id"] and lead["created_at"] <= t["at"]
    mean = sum(per_deal.values()) / DEALS
    assert 8 <= mean <= 11, mean


def test_quiet_deals_stay_open_and_silent(data):
    deals = {d["deal_id"]: d for d in data["deals"]}
    quiet = {k: parse_ts(d[QUIET_COLUMN]) for k, d in deals.items() if d[QUIET_COLUMN]}
    assert 0.10 * DEALS <= len(quiet) <= 0.20 * DEALS, len(quiet)
    for k in quiet:
        assert deals[k]["status"] == "open"
        assert parse_ts(deals[k]["created_at"]) < quiet[k]
    for t in data["touches"]:
        if t["deal_id"] in quiet:
            assert parse_ts(t["at"]) <= quiet[t["deal_id"]]
    for e in data["stage_events"]:
        if e["deal_id"] in quiet:
            assert parse_ts(e["at"]) < quiet[e["deal_id"]]
    # ...but their close dates keep moving
    pushed_after = Counter(e["deal_id"] for e in data["close_date_events"]
                           if e["deal_id"] in quiet and parse_ts(e["at"]) > quiet[e["deal_id"]])
    long_quiet = [k for k, since in quiet.items() if (DEFAULT_AS_OF - since).days > 120]
    assert long_quiet
    assert sum(pushed_after[k] >= 2 for k in long_quiet) > 0.8 * len(long_quiet)


def test_no_lead_is_written_in_a_cadence_bestby_would_not_have(data):
    """FORMAT.md has no enrolments, so a written ``in_cadence`` lead would be in a cadence with no tasks.

    The young leads the model works in a cadence (created in the last two
    weeks before as_of, with touches) are written ``new``: live, to be enrolled.
    """
    leads = data["leads"]
    assert Counter(r["status"] for r in leads)["in_cadence"] == 0
    touched = {t["lead_id"] for t in data["touches"] if t["lead_id"]}
    recent = DEFAULT_AS_OF.toordinal() - 14
    young_worked = [r for r in leads if r["status"] == "new" and r["lead_id"] in touched
                    and parse_ts(r["created_at"]).toordinal() >= recent]
    assert young_worked


def test_leads_orders_invoices_wallet(data):
    deals = {d["deal_id"]: d for d in data["deals"]}
    leads = data["leads"]
    assert 0.4 * DEALS <= len(leads) <= 0.6 * DEALS
    converted = [r for r in leads if r["converted_deal_id"]]
    assert converted and all(r["status"] == "converted" for r in converted)
    assert all(r["status"] != "converted" for r in leads if not r["converted_deal_id"])
    assert len({r["converted_deal_id"] for r in converted}) == len(converted)
    for r in converted:
        assert r["created_at"] < deals[r["converted_deal_id"]]["created_at"]
    won_accounts = {d["account_id"] for d in deals.values() if d["status"] == "won"}
    assert {o["account_id"] for o in data["orders"]} <= won_accounts
    lines = defaultdict(list)
    for o in data["orders"]:
        lines[o["order_id"]].append(int(o["line_no"]))
        assert Decimal(o["quantity"]) > 0 and Decimal(o["unit_price"]) > 0
        if o["committed_quantity"]:
            assert Decimal(o["committed_quantity"]) >= Decimal(o["quantity"]) and o["promised_at"]
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in lines.values())
    invoices = data["invoices"]
    assert invoices
    late = unpaid = 0
    for i in invoices:
        assert i["issued_at"] <= i["due_at"]
        if i["paid_at"]:
            assert i["issued_at"] <= i["paid_at"]
            late += i["paid_at"] > i["due_at"]
        else:
            unpaid += 1
    assert late > 0 and unpaid > 0
    wallet = data["wallet"]
    assert {w["account_id"] for w in wallet} >= {o["account_id"] for o in data["orders"]}
    assert all(Decimal(w["potential_annual_spend"]) > 0 for w in wallet)
    assert {w["category"] for w in wallet} == {p["category"] for p in data["products"]}
    n_products = len(data["products"])
    assert 10 <= n_products <= 20
    assert len(data["accounts"]) == DEALS // 5
    per_account = Counter(c["account_id"] for c in data["contacts"])
    assert min(per_account.values()) >= 2 and max(per_account.values()) <= 5
    assert set(per_account) == {a["account_id"] for a in data["accounts"]}


# --------------------------------------------------------------------------- other shapes


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def test_parquet_holds_the_same_rows(tmp_path, folder):
    write_synth(tmp_path, deals=DEALS, seed=SEED, fmt="parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.parquet" for n in FILE_NAMES)
    for name in FILE_NAMES:
        table = pq.read_table(tmp_path / f"{name}.parquet")
        rows = read(folder, name)
        assert table.column_names == header(folder, name), name
        assert table.num_rows == len(rows), name
        floats = {c.name for c in SPECS[name].columns if c.type == "float"}
        for col in table.column_names:
            got = table.column(col).to_pylist()
            want = [r[col] for r in rows]
            if col in floats:
                assert [float(v) for v in want] == got, (name, col)
            else:
                assert [_csv_text(v) for v in got] == want, (name, col)
    schema = pq.read_schema(tmp_path / "deals.parquet")
    assert pa.types.is_timestamp(schema.field("created_at").type) and schema.field("created_at").type.tz is None
    assert pa.types.is_date32(schema.field("close_date").type)
    assert pa.types.is_decimal(schema.field("amount").type)


def test_parquet_is_deterministic(tmp_path):
    write_synth(tmp_path / "a", deals=300, seed=1, fmt="parquet")
    write_synth(tmp_path / "b", deals=300, seed=1, fmt="parquet")
    for name in FILE_NAMES:
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() == (tmp_path / "b" / f"{name}.parquet").read_bytes()


@pytest.mark.parametrize("deals", [1, 7, 60])
def test_tiny_runs_are_still_valid(tmp_path, deals):
    summary = write_synth(tmp_path, deals=deals, seed=3)
    assert summary.rows["deals"] == deals
    users = read(tmp_path, "users")
    assert Counter(u["role"] for u in users)["rep"] == 3
    assert len(read(tmp_path, "accounts")) == max(5, deals // 5)
    ids = {r["deal_id"] for r in read(tmp_path, "deals")}
    assert {e["deal_id"] for e in read(tmp_path, "stage_events")} == ids
    assert {e["deal_id"] for e in read(tmp_path, "close_date_events")} == ids


def test_another_as_of_moves_the_window(tmp_path):
    as_of = datetime(2024, 6, 15, 12, 30)
    write_synth(tmp_path, deals=500, seed=2, as_of=as_of)
    deals = read(tmp_path, "deals")
    created = [parse_ts(d["created_at"]) for d in deals]
    assert max(created) < as_of and min(created) > datetime(2022, 6, 1)
    for name, c in (("stage_events", "at"), ("touches", "at"), ("close_date_events", "at")):
        assert max(parse_ts(r[c]) for r in read(tmp_path, name)) < as_of
    quarters = {r["period_start"] for r in read(tmp_path, "quotas")}
    assert "2024-04-01" in quarters and "2022-04-01" in quarters


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        write_synth(tmp_path, deals=10, seed=1, fmt="xlsx")
    with pytest.raises(ValueError):
        write_synth(tmp_path, deals=0, seed=1)

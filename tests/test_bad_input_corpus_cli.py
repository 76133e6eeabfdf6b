"""The bad-input corpus of the command line, the policy file, the Settings page and the report parameters (issue 13).

Every numeric and date option of every ``bestby`` command is found by walking
the live Typer app (a new option is covered, or this test fails asking for
its bound): an out-of-range value, ``2**63``, ``-1``, ``1e400``, ``nan`` and
the empty string exit with status 2 naming the option, without a traceback,
and the store is unchanged. The expected limits below are written out here,
not read from the code. The refused values never reach the store nor an
engine (they are refused while the command line is parsed), so one store
built per module serves every case and the corpus runs in seconds.

Then the clearance policy (``policy.toml`` through the command line, and the
Settings page), and the report parameters on the API (422 naming the
parameter) and on the pages (400 with the message), never a 500.
"""

from __future__ import annotations

import re
import typing

import pytest
import typer
from django.test import Client
from typer.testing import CliRunner

from bestby.audit.models import AuditEntry
from bestby.cli import app
from bestby.cli_decisions import decisions_app
from bestby.clearance.models import PolicySetting
from bestby.pipeline.models import Deal

runner = CliRunner()
WIDE = {"COLUMNS": "400"}  # Typer's error box wraps at the terminal's width: keep each message on one line
BIG = "9223372036854775808"  # 2**63

# ---------------------------------------------------------------- the expected bounds (literals)

#: (command, option) -> (lowest, highest) accepted, for every int or float option and argument
NUMERIC = {
    ("synth", "--deals"): (1, 10_000_000),
    ("synth", "--seed"): (0, 4_294_967_295),
    ("serve", "--port"): (1, 65_535),
    ("serve", "--threads"): (1, 256),
    ("serve", "--workers"): (0, 64),
    ("demo", "--port"): (1, 65_535),
    ("demo", "--deals"): (10, 1_000_000),
    ("shelf-life", "--quantile"): (0.0, 1.0),  # above 0
    ("shelf-life", "--lookback"): (0.0, 3650.0),  # above 0
    ("coverage", "--lookback"): (1, 3650),
    ("forecast", "--deals"): (0, 100_000),
    ("forecast", "--lookback"): (1, 3650),
    ("forecast", "--sims"): (100, 1_000_000),
    ("forecast", "--seed"): (0, 4_294_967_295),
    ("funnel", "--window"): (1, 3650),
    ("reverse-funnel", "--lookback"): (1, 3650),
    ("backtest", "--sims"): (100, 1_000_000),
    ("backtest", "--seed"): (0, 4_294_967_295),
    ("import undo", "BATCH"): (1, 9_223_372_036_854_775_807),
    ("import batches", "--limit"): (1, 10_000),
}
#: (command, option) of the options that take a date, a timestamp or a period
DATES = {
    ("shelf-life", "--as-of"), ("analyze", "--as-of"), ("adherence", "--as-of"), ("coverage", "--as-of"),
    ("forecast", "--as-of"), ("funnel", "--as-of"), ("reverse-funnel", "--as-of"), ("today", "--as-of"),
    ("refresh", "--as-of"), ("clearance", "--as-of"), ("clearance apply", "--as-of"), ("snooze", "--until"),
    ("cadence enrol", "--start"), ("export decisions", "--since"),
}
PERIODS = {("adherence", "--period"), ("coverage", "--period"), ("forecast", "--period"),
           ("reverse-funnel", "--period"), ("backtest", "--from"), ("backtest", "--to")}
#: text options whose names look like dates' but are not: a date's spelling, where a cleared deal goes
NOT_DATES = {("import salesforce", "--date-format"), ("import hubspot", "--date-format"),
             ("import pipedrive", "--date-format"), ("import csv", "--date-format"), ("clear", "--to"),
             ("clearance apply", "--to")}
#: text arguments that hold a number (an id)
ID_ARGUMENTS = {("undo", "ACTION_ID"): (1, 9_223_372_036_854_775_807)}
#: what each command needs besides the option under test to get as far as reading it
REQUIRED = {
    "synth": ["FOLDER_X"], "analyze": ["--source", "SRC_X", "--out", "OUT_X"], "today": ["--user", "nobody"],
    "snooze": ["d1", "--reason", "x", "--until", "2030-01-01"], "cadence enrol": ["L1"],
    "backtest": ["--from", "2025-Q1", "--to", "2025-Q2"], "import undo": ["1"],
    "export decisions": ["OUT_X", "--format", "csv", "--since", "2025-01-01"],
}
DATE_LOW, DATE_HIGH = "1900-01-01", "2199-12-31"


def _walk(command, path):
    for param in command.params:
        yield " ".join(path), param
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, [*path, name])


def _params():
    """Every (command, option or argument name, param) of the live app; `export decisions` is its own app."""
    found = list(_walk(typer.main.get_command(app), [])) + list(_walk(typer.main.get_command(decisions_app),
                                                                      ["export", "decisions"]))
    out = []
    for path, p in found:
        name = p.opts[0] if p.param_type_name == "option" else (p.metavar or p.name.upper())
        out.append((path, name, p))
    return out


PARAMS = _params()


def _types(p) -> set:
    """The Python types a parameter takes (``Optional[float]``: {float})."""
    annotation = p.type_descriptor.annotation
    return {t for t in (typing.get_args(annotation) or (annotation,)) if t is not type(None)}


def _numeric():
    return {(path, name) for path, name, p in PARAMS if _types(p) & {int, float}}


def _datelike():
    return {(path, name) for path, name, p in PARAMS if _types(p) == {str} and p.param_type_name == "option"
            and re.search(r"as-of|until|since|start|period|from|^--to$|date|day", name)}


def test_the_enumeration_finds_every_command_and_each_numeric_or_date_option_has_an_expected_bound():
    commands = {path for path, _, _ in PARAMS}
    assert len(commands) > 30 and {"forecast", "funnel", "snooze", "import undo", "export decisions"} <= commands
    numeric = _numeric()
    assert numeric, "no numeric option found: the walk is broken"
    missing = numeric - set(NUMERIC)
    assert not missing, f"numeric options without an expected bound here (add them to NUMERIC): {sorted(missing)}"
    assert set(NUMERIC) <= numeric, f"NUMERIC names options the app no longer has: {sorted(set(NUMERIC) - numeric)}"
    dates = _datelike() - NOT_DATES
    missing = dates - DATES - PERIODS
    assert not missing, f"date options without a case here (add them to DATES or PERIODS): {sorted(missing)}"
    assert (DATES | PERIODS) <= dates


# ---------------------------------------------------------------- one store for the module

@pytest.fixture(scope="module")
def store(django_db_setup, django_db_blocker, tmp_path_factory):
    """The hand folder imported, and one deal cleared (an audit entry); emptied when the module ends."""
    from django.core.management import call_command

    from bestby.clearance.services import clear
    from bestby.importers.canonical import import_canonical
    from tests.importers.folders import write_folder

    with django_db_blocker.unblock():
        import_canonical(write_folder(tmp_path_factory.mktemp("store")))
        clear(deals=["d1"], reason="bad-input corpus", to="lost")
        assert Deal.objects.exists() and AuditEntry.objects.exists()
        yield
        call_command("flush", interactive=False, verbosity=0)


def _counts():
    return Deal.objects.count(), AuditEntry.objects.count(), PolicySetting.objects.count()


def _args(path: str, name: str, value: str, tmp_path) -> list[str]:
    words = path.split()
    extra = [w.replace("FOLDER_X", str(tmp_path / "synth")).replace("SRC_X", str(tmp_path))
             .replace("OUT_X", str(tmp_path / "out.csv" if path == "export decisions" else tmp_path / "out"))
             for w in REQUIRED.get(path, [])]
    if name.startswith("--"):
        given = [name, value]
        if name in extra:  # the option under test replaces the required one's value
            i = extra.index(name)
            del extra[i:i + 2]
    else:  # an argument
        extra = [w for w in extra if w != "1"]
        given = [value]
    return [*words, *given, *extra]


def _refused(args: list[str], name: str):
    """Run ``args``; assert exit 2, ``name`` in the message, no traceback. The message, one line."""
    result = runner.invoke(app, args, env=WIDE)
    text = re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), (args, result.exception)
    assert "Traceback" not in result.output
    assert name in text, (args, text)
    return text


def _numeric_cases():
    cases = []
    for (path, name), (lo, hi) in sorted(NUMERIC.items()):
        whole = isinstance(lo, int)
        above = (path, name) in (("shelf-life", "--quantile"), ("shelf-life", "--lookback"))
        bad = {str(lo - 1) if whole else str(lo - 0.5), str(hi + 1) if whole else str(hi + 0.5), BIG, "-1",
               "1e400", "nan", "", "-" + BIG}
        if above:
            bad.add("0")
        if hi >= int(BIG) - 1:
            bad.discard(BIG)
            bad.add("9223372036854775808")  # hi + 1
        cases += [pytest.param(path, name, value, hi, id=f"{path}-{name}-{value or 'empty'}") for value in sorted(bad)]
    cases += [pytest.param(path, name, value, hi, id=f"{path}-{name}-{value or 'empty'}")
              for (path, name), (lo, hi) in ID_ARGUMENTS.items() for value in ("0", "-1", BIG, "9" * 30)]
    return cases


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name", "value", "hi"), _numeric_cases())
def test_a_numeric_option_out_of_range_exits_2_naming_it_and_changes_nothing(store, tmp_path, path, name, value,
                                                                            hi):
    before = _counts()
    text = _refused(_args(path, name, value, tmp_path), name)
    if value in (str(hi + 1), BIG) and "valid" not in text:  # a number out of range says the range to give
        assert f"{hi:,}" in text or f"{hi:g}" in text, text
    assert _counts() == before
    assert not (tmp_path / "synth").exists() and not (tmp_path / "out").exists()


def _date_cases():
    cases = []
    for path, name in sorted(DATES):
        for value in ("9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01", "0001-01-01T00:00:00+01:00"):
            if path in ("snooze", "cadence enrol", "export decisions") and "T" in value:
                continue  # these take a bare date
            cases.append(pytest.param(path, name, value, id=f"{path}-{name}-{value}"))
    for path, name in sorted(PERIODS):
        for value in ("FY9999", "1899-Q4", "2200-01", "FY0000"):
            cases.append(pytest.param(path, name, value, id=f"{path}-{name}-{value}"))
    cases.append(pytest.param("adherence", "--period", "2300-01-01..2300-01-02", id="adherence-range"))
    return cases


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name", "value"), _date_cases())
def test_a_date_outside_1900_to_2199_exits_2_naming_the_option_and_changes_nothing(store, tmp_path, path, name,
                                                                                  value):
    before = _counts()
    text = _refused(_args(path, name, value, tmp_path), name)
    if (path, name) in DATES or path != "adherence":
        assert DATE_LOW in text and DATE_HIGH in text, text
    assert _counts() == before


# ---------------------------------------------------------------- the policy file

#: key -> values a policy file may not give it (TOML spellings)
POLICY_BAD = {
    "quantile": ["0", "1.5", "nan", "inf", "true", "1e308", BIG],
    "aging_fraction": ["0", "1.01", "nan", "true", "-1"],
    "expired_idle_days": ["-1", "100001", "1e308", "nan", "inf", "true", BIG],
    "no_touch_days": ["-1", "100001", "1e308", "nan", "true", BIG],
    "close_date_grace_days": ["-1", "100001", "1e308", "true"],
    "no_second_meeting_days": ["-0.5", "100001", "1e308", "true"],
    "stalled_after_pushes": ["0", "1001", BIG, "1.5", "true", "nan", '"3"'],
    "win_probability_floor": ["-0.1", "1.01", "nan", "true", "1e308"],
    "lookback_days": ["0", "3651", "1e308", "true", "nan", BIG],
}
POLICY_GOOD = {"quantile": "1", "aging_fraction": "1", "expired_idle_days": "100000", "no_touch_days": "0",
               "close_date_grace_days": "100000", "no_second_meeting_days": "100000", "stalled_after_pushes": "1000",
               "win_probability_floor": "1", "lookback_days": "3650"}


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "value"), [pytest.param(k, v, id=f"{k}={v}") for k, vs in POLICY_BAD.items()
                                            for v in vs])
def test_a_policy_file_out_of_range_is_refused_naming_the_key_and_the_file(store, tmp_path, key, value):
    policy = tmp_path / "policy.toml"
    policy.write_text(f"[pipelines.default]\n{key} = {value}\n", encoding="utf-8")
    before = _counts()
    text = _refused(["clearance", "--policy", str(policy)], "--policy")
    assert key in text and str(policy) in text, text
    json_policy = tmp_path / "policy.json"
    json_value = {"nan": "NaN", "inf": "Infinity"}.get(value, value)
    json_policy.write_text(f'{{"default": {{"{key}": {json_value}}}}}', encoding="utf-8")
    text = _refused(["refresh", "--policy", str(json_policy)], "--policy")
    assert key in text and str(json_policy) in text, text
    assert _counts() == before


@pytest.mark.parametrize(("key", "value"), POLICY_GOOD.items())
def test_the_policy_bounds_themselves_are_accepted(tmp_path, key, value):
    from bestby.engine.policy import load_policy

    policy = tmp_path / "policy.toml"
    policy.write_text(f"[default]\n{key} = {value}\n", encoding="utf-8")
    assert float(getattr(load_policy(policy), key)) == float(value)


# ---------------------------------------------------------------- the Settings page

@pytest.fixture
def admin(store):
    from bestby.people.models import User

    return User.objects.create_user(username="corpus-admin", password=None, external_id="corpus-a",
                                    role="admin")


SETTINGS_BAD = [(k, v) for k, vs in POLICY_BAD.items() for v in vs if v not in ('"3"', "true")] + [
    ("no_touch_days", "True"), ("quantile", "false"), ("stalled_after_pushes", "1e3"), ("expired_idle_days", "")]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "value"), [pytest.param(k, v, id=f"{k}={v}") for k, v in SETTINGS_BAD])
def test_the_settings_page_refuses_with_the_error_at_the_field_and_keeps_the_stored_policy(client, admin, key,
                                                                                          value):
    client.force_login(admin)
    assert client.post("/settings/policy/", {"section": "default", "quantile": "0.7",
                                             "no_touch_days": "60"}).status_code == 302
    stored = list(PolicySetting.objects.values_list("values", flat=True))
    before = _counts()
    form = {"section": "default", "quantile": "0.7", "no_touch_days": "60", key: value}
    if value == "":  # an empty field inherits; a section needs one bad value to be refused: give it with a blank
        form["close_date_grace_days"] = "-5"
        key = "close_date_grace_days"
    response = client.post("/settings/policy/", form)
    html = response.content.decode()
    assert response.status_code == 400, (key, value, html[:300])
    assert re.search(rf'<p class="error" data-field="{key}">[^<]*{key}', html), (key, value)
    assert re.search(rf'<tr class="invalid">\s*<td><label for="default-{key}">', html), (key, value)
    assert list(PolicySetting.objects.values_list("values", flat=True)) == stored
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("section", [BIG, "9" * 30, "²", "-1", "0"])
def test_the_settings_page_answers_a_bad_section_with_404_not_500(client, admin, section):
    client.force_login(admin)
    before = _counts()
    assert client.post("/settings/policy/", {"section": section, "quantile": "0.7"}).status_code == 404
    assert _counts() == before


@pytest.mark.django_db
def test_a_stored_policy_out_of_range_is_shown_on_the_settings_page_not_a_500(client, admin):
    from django.utils import timezone

    PolicySetting.objects.create(pipeline=None, values={"no_touch_days": 1e308}, updated_at=timezone.now())
    client.force_login(admin)
    response = client.get("/settings/")
    assert response.status_code == 200
    assert re.search(r'<p class="error" data-field="no_touch_days">[^<]*no_touch_days', response.content.decode())
    page = client.get("/coverage/?as_of=2025-11-15")
    assert page.status_code == 400 and "policy: " in page.content.decode()
    assert client.get("/shelf-life/").status_code == 400


# ---------------------------------------------------------------- the report parameters: API and pages

API_BAD = [
    ("/api/forecast", {"as_of": "9999-12-31"}, "as_of"),
    ("/api/forecast", {"as_of": "0001-01-01T00:00:00+01:00"}, "as_of"),
    ("/api/forecast", {"period": "FY9999"}, "period"),
    ("/api/forecast", {"deals": BIG}, "deals"),
    ("/api/forecast", {"deals": "-1"}, "deals"),
    ("/api/coverage", {"as_of": "1899-12-31"}, "as_of"),
    ("/api/coverage", {"period": "2200-Q1"}, "period"),
    ("/api/funnel", {"window": "99999999999999999999"}, "window"),
    ("/api/funnel", {"window": "0"}, "window"),
    ("/api/funnel", {"window": "nan"}, "window"),
    ("/api/funnel", {"as_of": "2200-01-01"}, "as_of"),
    ("/api/reverse-funnel", {"period": "1899-12"}, "period"),
    ("/api/backtest", {"from": "FY0000"}, "from"),
    ("/api/backtest", {"to": "9999-Q4"}, "to"),
    ("/api/backtest", {"weeks_in": "53"}, "weeks_in"),
    ("/api/backtest", {"weeks_in": BIG}, "weeks_in"),
    ("/api/shelf-life", {"as_of": "9999-12-31T00:00:00"}, "as_of"),
    ("/api/shelf-life", {"q": "0"}, "q"),
    ("/api/shelf-life", {"q": "nan"}, "q"),
    ("/api/shelf-life", {"q": "1e400"}, "q"),
    ("/api/freshness", {"offset": BIG}, "offset"),
    ("/api/clearance", {"offset": "9" * 30}, "offset"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "query", "field"), API_BAD, ids=[f"{u}-{next(iter(q.items()))}" for u, q, _ in API_BAD])
def test_an_analytics_parameter_out_of_range_is_a_422_naming_it(admin, url, query, field):
    from bestby.api.tokens import create_token

    _row, secret = create_token(user=admin, name="corpus")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    before = _counts()
    response = api.get(url, query)
    assert response.status_code == 422, (url, query, response.content[:300])
    body = response.json()
    assert body["field"] == field and body["detail"], body  # the API names the field apart from the message
    assert _counts() == before


PAGE_BAD = [
    ("/coverage/", {"as_of": "0001-01-01"}, "as_of"),
    ("/coverage/", {"as_of": "9999-12-31"}, "as_of"),
    ("/coverage/", {"period": "FY9999"}, "period"),
    ("/forecast/", {"as_of": "2200-01-01"}, "as_of"),
    ("/forecast/", {"period": "<script>alert(1)</script>"}, "period"),
    ("/forecast/", {"group": "<script>x</script>"}, "group"),
    ("/funnel/", {"window": "99999999999999999999999"}, "window"),
    ("/funnel/", {"window": "-5"}, "window"),
    ("/funnel/", {"as_of": "0001-01-01T00:00:00+01:00"}, "as_of"),
    ("/funnel/", {"period": "1899-Q4"}, "period"),
    ("/backtest/", {"from": "FY9999"}, "from"),
    ("/backtest/", {"weeks_in": "99999999999999999999999"}, "weeks_in"),
    ("/adherence/", {"as_of": "9999-12-31"}, "as_of"),
    ("/adherence/", {"period": "2300-01-01..2300-01-02"}, "period"),
    ("/adherence/", {"period": "FY9999"}, "period"),
    ("/shelf-life/", {"q": "nan"}, "q"),
    ("/shelf-life/", {"q": "1e400"}, "q"),
    ("/shelf-life/", {"q": "-5"}, "q"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "query", "field"), PAGE_BAD, ids=[f"{u}-{next(iter(q.items()))}" for u, q, _ in PAGE_BAD])
def test_a_report_page_answers_a_bad_parameter_with_400_and_the_message(client, admin, url, query, field):
    client.force_login(admin)
    before = _counts()
    response = client.get(url, query)
    html = response.content.decode()
    assert response.status_code == 400, (url, query, html[:300])
    assert re.search(rf'class="error"[^>]*>[^<]*\b{field}: ', html), (url, query)
    assert "<script>alert(1)</script>" not in html and "<script>x</script>" not in html
    assert _counts() == before

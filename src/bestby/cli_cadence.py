"""The cadence commands: `bestby cadence enrol`, `bestby cadence list`, `bestby today`, `bestby calendar` (thin adapters).

They call :mod:`bestby.cadences.services` (the only writers) and
:mod:`bestby.cadences.ical`. Every refusal exits with code 2, names the
argument at fault, and changes nothing (``services.enrol`` is all or nothing).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Optional

import typer
from rich.table import Table

from bestby.cli import DbOption, app, check_day, console, setup
from bestby.cli_tokens import _fail, _find_user  # the same refusals as the token commands

cadence_app = typer.Typer(help="Cadences: list them, enrol leads.", no_args_is_help=True)
app.add_typer(cadence_app, name="cadence")

# the services name their parameters; the command line names its own
_CLI_NAMES = {"leads": "LEAD_ID", "cadence": "--cadence", "start": "--start"}

UserOption = Annotated[str, typer.Option("--user", help="E-mail or user id of the seller.", show_default=False)]


def _parse_start(value: Optional[str]) -> Optional[date]:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD (e.g. 2026-03-27)",
                                 param_hint="'--start'") from None
    day = check_day(day, "--start")
    from bestby import clock
    from bestby.cadences.schedule import start_problem

    problem = start_problem(day, clock.today())  # a person typed it: within a year of today
    if problem:
        raise typer.BadParameter(problem, param_hint="'--start'")
    return day


def _parse_as_of(value: Optional[str]):
    """``--as-of`` for one seller: a timestamp with an offset is that instant; a naive one, or a bare date
    (midnight), is read on the seller's own wall clock. Returns a function of the seller's zone (None: now)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date or timestamp (e.g. 2026-03-31 or "
                                 "2026-03-31T09:00:00+02:00)", param_hint="'--as-of'") from None
    check_day(parsed, "--as-of")
    return lambda zone: parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


# ---------------------------------------------------------------- cadence list

@cadence_app.command("list")
def list_cmd(db: DbOption = None) -> None:
    """The cadences and their steps (business-day offset from the start, channel, instruction)."""
    setup(db)
    from bestby.cadences import schedule, services
    from bestby.cadences.models import Cadence

    cadences = [(c.name + (" (default)" if c.is_default else ""), services.steps_of(c))
                for c in Cadence.objects.order_by("name")]
    if not cadences:  # nothing stored yet: show the built-in default without writing it
        cadences = [(f"{services.DEFAULT_NAME} (default, created on first enrolment)", list(schedule.DEFAULT_STEPS))]
    for name, steps in cadences:
        table = Table(title=name)
        for column, justify in (("step", "right"), ("day", "right"), ("channel", "left"), ("instruction", "left")):
            table.add_column(column, justify=justify)
        for k, s in enumerate(steps, start=1):
            table.add_row(str(k), str(s.offset), s.channel, s.instruction)
        console.print(table)
    console.print("day: business days after the start (0 = the start day).", highlight=False)


# ---------------------------------------------------------------- cadence enrol

@cadence_app.command("enrol")
def enrol_cmd(
    lead_ids: Annotated[list[str], typer.Argument(metavar="LEAD_ID", help="Lead ids (as imported) to enrol.")],
    cadence: Annotated[Optional[str], typer.Option("--cadence", help="Cadence name. Default: the default cadence.",
                                                   show_default=False)] = None,
    start: Annotated[Optional[str], typer.Option(
        "--start", help="First day, YYYY-MM-DD (a weekend or holiday rolls to the next business day). "
                        "Default: each owner's today.", show_default=False)] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="E-mail or user id of who enrols (audit log; owner of "
                                                           "leads that have none).", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Enrol leads in a cadence, all or nothing, and show their tasks' due dates."""
    first = _parse_start(start)
    setup(db)
    from bestby.activities.models import Lead
    from bestby.cadences import services
    from bestby.cadences.models import Cadence

    seen = set()
    for key in lead_ids:
        if key in seen:
            _fail("LEAD_ID", f"{key!r} is given twice")
        seen.add(key)
    found = {lead.external_id: lead for lead in Lead.objects.filter(external_id__in=lead_ids).select_related("owner")}
    missing = [key for key in lead_ids if key not in found]
    if missing:
        _fail("LEAD_ID", f"no lead has the id {', '.join(repr(k) for k in missing)}")
    chosen = None
    if cadence is not None:
        chosen = Cadence.objects.filter(name=cadence).first()
        if chosen is None:
            names = ", ".join(repr(n) for n in Cadence.objects.values_list("name", flat=True)) or "none yet"
            _fail("--cadence", f"no cadence is named {cadence!r} (known: {names}; see `bestby cadence list`)")
    user = _find_user(by, "--by") if by is not None else None
    try:
        enrolments = services.enrol(leads=[found[k] for k in lead_ids], cadence=chosen, start=first, by=user)
    except services.CadenceError as exc:
        _fail(_CLI_NAMES.get(exc.param, exc.param), exc.message)
    table = Table(title=f"Enrolled in {enrolments[0].cadence.name}")
    for column in ("lead", "owner", "step", "channel", "due"):
        table.add_column(column)
    for e in enrolments:
        for t in e.tasks.order_by("position"):
            first_row = t.position == 1
            table.add_row(e.lead.external_id if first_row else "", (e.owner.email or e.owner.external_id)
                          if first_row else "", str(t.position), t.channel, t.due_on.isoformat())
        table.add_section()
    console.print(table)
    n = len(enrolments)
    console.print(f"{n} lead{'' if n == 1 else 's'} enrolled; see `bestby today --user EMAIL`.", highlight=False)


@cadence_app.command("convert")
def convert_cmd(
    lead_id: Annotated[str, typer.Argument(metavar="LEAD_ID", help="An engaged lead (it replied or booked a meeting).")],
    pipeline: Annotated[Optional[str], typer.Option("--pipeline", help="Pipeline name. Default: the first one.",
                                                    show_default=False)] = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Open stage to start in. Default: the pipeline's "
                                                 "first open stage.", show_default=False)] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="E-mail or user id of who converts (audit log).",
                                              show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Turn an engaged lead into a deal at the first meeting stage."""
    setup(db)
    from bestby.activities.models import Lead
    from bestby.cadences import services
    from bestby.pipeline.models import Pipeline, Stage

    lead = Lead.objects.filter(external_id=lead_id).first()
    if lead is None:
        _fail("LEAD_ID", f"no lead has the id {lead_id!r}")
    chosen = None
    if pipeline is not None:
        chosen = Pipeline.objects.filter(name=pipeline).first()
        if chosen is None:
            _fail("--pipeline", f"no pipeline is named {pipeline!r}")
    at_stage = None
    if stage is not None:
        at_stage = Stage.objects.filter(name=stage, **({"pipeline": chosen} if chosen else {})).first()
        if at_stage is None:
            _fail("--stage", f"no stage is named {stage!r}" + (f" in {pipeline!r}" if chosen else ""))
    user = _find_user(by, "--by") if by is not None else None
    try:
        deal = services.convert(lead, pipeline=chosen, stage=at_stage, by=user)
    except services.CadenceError as exc:
        _fail({"lead": "LEAD_ID", "pipeline": "--pipeline", "stage": "--stage"}.get(exc.param, exc.param), exc.message)
    console.print(f"Lead {lead_id} is now deal {deal.external_id} in {deal.pipeline.name} / {deal.stage.name}.",
                  highlight=False, markup=False)


# ---------------------------------------------------------------- today

def today_rows(tasks, day: date) -> list[dict]:
    """The JSON rows of `bestby today` (see its docstring)."""
    from bestby.cadences import ical, services

    cal = services.calendar()
    return [{
        "task_id": t.pk,
        "due_on": t.due_on.isoformat(),
        "overdue_business_days": cal.business_days_between(t.due_on, day),
        "channel": t.channel,
        "person": ical.person(t),
        "lead_id": t.lead.external_id if t.lead_id else None,
        "contact_id": t.contact.external_id if t.contact_id else None,
        "deal_id": t.deal.external_id if t.deal_id else None,
        "instruction": t.instruction,
        "cadence": t.enrollment.cadence.name if t.enrollment_id else None,
        "step": t.position if t.enrollment_id else None,
    } for t in tasks]


@app.command("today")
def today_cmd(
    user: UserOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (shape in `bestby today --help`).")] = False,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="ISO timestamp (with an offset: that instant; without: the seller's wall clock) or date. "
                        "Default: now.", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """A seller's open tasks due today or earlier, on their own calendar, overdue first.

    JSON: {"user", "day", "time_zone", "tasks"}: the seller's e-mail (else
    id), their local date (ISO), their IANA time zone, and the tasks by due
    date then id, each {"task_id": int, "due_on": ISO date,
    "overdue_business_days": int, "channel", "person": "Name (Company)",
    "lead_id", "contact_id", "deal_id", "instruction", "cadence", "step": int}.
    overdue_business_days counts the business days (the workspace country's)
    after due_on up to day: 0 means due today. Ids are null when the task has
    none; cadence and step are null for an extra "one more call" task.
    """
    when = _parse_as_of(as_of)
    setup(db)
    from bestby.cadences import services

    seller = _find_user(user, "--user")
    zone = seller.zone()
    day, tasks = services.today(seller, now=when(zone) if when else None)
    rows = today_rows(tasks, day)
    if as_json:
        typer.echo(json.dumps({"user": seller.email or seller.external_id, "day": day.isoformat(),
                               "time_zone": str(zone), "tasks": rows}))
        return
    table = Table(title=f"Today, {day:%A %d %B %Y}, for {seller} ({zone})")
    for column, justify in (("task", "right"), ("due", "left"), ("late", "right"), ("channel", "left"),
                            ("person", "left"), ("instruction", "left")):
        table.add_column(column, justify=justify)
    for r in rows:
        late = r["overdue_business_days"]
        table.add_row(str(r["task_id"]), r["due_on"], f"{late}d" if late else "", r["channel"], r["person"],
                      r["instruction"])
    console.print(table)
    overdue = sum(1 for r in rows if r["overdue_business_days"])
    console.print(f"{len(rows)} task{'' if len(rows) == 1 else 's'} due, {overdue} overdue "
                  "(late: business days after the due date).", highlight=False)


# ---------------------------------------------------------------- calendar

@app.command("calendar")
def calendar_cmd(user: UserOption, db: DbOption = None) -> None:
    """Write a seller's open cadence tasks as iCalendar to stdout (`bestby calendar --user EMAIL > tasks.ics`)."""
    setup(db)
    from bestby.cadences.ical import tasks_calendar

    seller = _find_user(user, "--user")
    typer.echo(tasks_calendar(seller), nl=False)

"""The `bestby` commands of the clearance workflow: clearance (list, apply), clear, snooze and undo (thin adapters).

They are registered on the same Typer app as the store commands in
``bestby.cli``, which imports this module last. Every refusal exits with code 2,
names the parameter at fault, and changes nothing (the services are atomic).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Optional

import typer
from rich.table import Table

from bestby.bounds import ROW_ID, OutOfBounds
from bestby.cli import DbOption, app, check_day, console, err, setup
from bestby.cli_analytics import (AsOfOption, JsonOption, PolicyOption, _clearance_table, _parse_as_of, clearance_json,
                                  resolve_policy)

clearance_app = typer.Typer(invoke_without_command=True, no_args_is_help=False)
app.add_typer(clearance_app, name="clearance")

# the services name their parameters; the command line names its own
_CLI_NAMES = {"deals": "DEAL_ID", "at": "DEAL_ID", "action": "ACTION_ID", "reason": "--reason", "to": "--to",
              "until": "--until", "batch": "--batch", "rows": "clearance list"}
_TO = ("lost", "nurture")

ByOption = Annotated[Optional[str], typer.Option(
    "--by", help="E-mail or user id of who does this (for the audit log). Default: the command line.",
    show_default=False)]
ToOption = Annotated[str, typer.Option("--to", help="lost (lost reason 'timed out') or nurture (back to nurture).")]


def _fail(param: str, message: str) -> None:
    err.print(f"{param}: {message}", markup=False, highlight=False, soft_wrap=True)
    err.print("Nothing was changed.", highlight=False)
    raise typer.Exit(2)


def _service_error(exc) -> None:
    _fail(_CLI_NAMES.get(exc.param, exc.param), exc.message)


def _check_to(to: str) -> str:
    if to not in _TO:
        raise typer.BadParameter(f"{to!r}: use lost or nurture", param_hint="'--to'")
    return to


def _user(by: str | None):
    """Resolve ``--by`` (after setup): None means the command line itself."""
    if by is None:
        return None
    from django.db.models import Q

    from bestby.people.models import User

    user = User.objects.filter(Q(email__iexact=by) | Q(external_id=by) | Q(username=by)).first()
    if user is None:
        _fail("--by", f"{by!r}: no user has this e-mail or id")
    return user


def _deals(n: int) -> str:
    return f"{n:,} deal" + ("" if n == 1 else "s")


def _ids(actions) -> str:
    pks = [a.pk for a in actions]
    if len(pks) > 2 and max(pks) - min(pks) + 1 == len(pks):
        return f"#{min(pks)} to #{max(pks)}"
    return ", ".join(f"#{pk}" for pk in pks)


# ---------------------------------------------------------------- clearance (list) and clearance apply

@clearance_app.callback()
def clearance_cmd(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    policy_file: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Open deals that are expired or stalled and not snoozed, most inflating first (read-only).

    JSON: a list of {deal_id, owner_id, stage, amount, age_days, stage_age_days, days_since_touch,
    close_date_pushes, best_by, win_probability, state, reasons}: amount is a float (or null), days are
    fractional days, best_by an ISO 8601 UTC timestamp (or null), reasons a list of {code, text}.
    A deal snoozed past --as-of's date is left out. `bestby clearance apply` clears the list.
    """
    if ctx.invoked_subcommand is not None:
        # `clearance --as-of D apply` means what `clearance apply --as-of D` does
        ctx.obj = {"as_of": as_of, "policy": policy_file, "db": db}
        return
    when = _parse_as_of(as_of)
    resolve_policy(policy_file, stored=False)  # a bad policy file is refused before the store is touched
    setup(db)
    policy = resolve_policy(policy_file)  # now the policy stored on the Settings page counts too
    from bestby.clearance.services import listing

    clear, open_deals = listing(as_of=when, policy=policy)
    if as_json:
        typer.echo(json.dumps(clearance_json(clear)))
        return
    _clearance_table(clear, open_deals=open_deals, as_of=when)


@clearance_app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Apply: clear every listed deal, in one transaction.")] = False,
    reason: Annotated[Optional[str], typer.Option(
        "--reason", help="Why (for the audit log). Default: each deal's own reasons from the list.",
        show_default=False)] = None,
    to: ToOption = "lost",
    by: ByOption = None,
    policy_file: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Review the clearance list (default), or clear all of it with --yes (one transaction, one batch)."""
    parent = ctx.obj or {}
    when = _parse_as_of(as_of if as_of is not None else parent.get("as_of"))
    _check_to(to)
    if reason is not None and not reason.strip():
        _fail("--reason", "is empty; give a reason or leave the option out")
    policy_file = policy_file if policy_file is not None else parent.get("policy")
    resolve_policy(policy_file, stored=False)  # a bad policy file is refused before the store is touched
    setup(db or parent.get("db"))
    policy = resolve_policy(policy_file)
    from bestby.clearance.services import ClearanceError, apply, listing, open_now

    user = _user(by)
    listed, open_deals = listing(as_of=when, policy=policy)
    rows, closed = open_now(listed)
    if closed:
        console.print(f"{_deals(len(closed))} on the list at {when:%Y-%m-%d %H:%M} UTC "
                      f"{'is' if len(closed) == 1 else 'are'} closed by now and left out "
                      f"({', '.join(r['deal_id'] for r in closed[:5])}{', ...' if len(closed) > 5 else ''}).",
                      highlight=False, soft_wrap=True)
    if not rows:
        console.print(f"Nothing to clear at {when:%Y-%m-%d %H:%M} UTC ({open_deals:,} open deals).", highlight=False,
                      soft_wrap=True)
        return
    amount = sum(r["amount"] or 0.0 for r in rows)
    if not yes:
        _clearance_table(rows, open_deals=open_deals, as_of=when)
        console.print(f"Would clear {_deals(len(rows))} ({amount:,.0f} of pipeline) to {to}.", highlight=False)
        console.print("Nothing changed; run again with --yes to apply.", highlight=False)
        return
    try:
        actions = apply(rows=rows, reason=reason or "", to=to, by=user)
    except ClearanceError as exc:
        _service_error(exc)
    batch = actions[0].batch
    console.print(f"Cleared {_deals(len(actions))} ({amount:,.0f} of pipeline) to {to} in batch [bold]{batch}[/bold]: "
                  f"actions {_ids(actions)}.", highlight=False, soft_wrap=True)
    console.print(f"Undo all of it: bestby undo --batch {batch}   one deal: bestby undo ACTION_ID "
                  f"(e.g. bestby undo {actions[0].pk})", markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- clear, snooze, undo

@app.command("clear")
def clear_cmd(
    deal_ids: Annotated[list[str], typer.Argument(metavar="DEAL_ID...", help="External ids of open deals.",
                                                  show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).", show_default=False)],
    to: ToOption = "lost",
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Clear open deals: to lost ('timed out') or back to nurture. All or nothing; undo with `bestby undo`."""
    _check_to(to)
    setup(db)
    from bestby.clearance.services import ClearanceError, clear

    user = _user(by)
    try:
        actions = clear(deals=deal_ids, reason=reason, to=to, by=user)
    except ClearanceError as exc:
        _service_error(exc)
    table = Table(title=f"Cleared to {to}")
    for col in ("action", "deal", "was", "now", "lost reason"):
        table.add_column(col, justify="right" if col == "action" else "left")
    for a in actions:
        before, after = a.before["deal"], a.after["deal"]
        table.add_row(f"#{a.pk}", a.deal.external_id, f"{before['stage']} ({before['status']})",
                      f"{after['stage']} ({after['status']})", after["lost_reason"])
    console.print(table)
    console.print(f"Undo with: bestby undo {actions[0].pk}" + (" (one per action)" if len(actions) > 1 else ""),
                  markup=False, highlight=False, soft_wrap=True)


@app.command("snooze")
def snooze_cmd(
    deal_id: Annotated[str, typer.Argument(metavar="DEAL_ID", help="External id of an open deal.", show_default=False)],
    until: Annotated[str, typer.Option("--until", help="YYYY-MM-DD: the deal is off the clearance list until "
                                                       "this date (listed again on it).", show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).", show_default=False)],
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Keep an open deal off the clearance list until a date; the deal itself does not change."""
    try:
        day = date.fromisoformat(until.strip())
    except ValueError:
        raise typer.BadParameter(f"{until!r} is not a date (YYYY-MM-DD)", param_hint="'--until'") from None
    check_day(day, "--until")
    setup(db)
    from bestby.clearance.services import ClearanceError, snooze

    user = _user(by)
    try:
        action = snooze(deal=deal_id, until=day, reason=reason, by=user)
    except ClearanceError as exc:
        _service_error(exc)
    console.print(f"Snoozed deal {deal_id} until {day.isoformat()} (action #{action.pk}); "
                  f"undo with: bestby undo {action.pk}", markup=False, highlight=False, soft_wrap=True)


@app.command("undo")
def undo_cmd(
    action_id: Annotated[Optional[str], typer.Argument(metavar="ACTION_ID", help="Id of a clear or snooze action.",
                                                       show_default=False)] = None,
    batch: Annotated[Optional[str], typer.Option("--batch", help="Undo every action of this batch "
                                                                 "(from `clearance apply --yes`), in one transaction.",
                                                 show_default=False)] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why (kept in the audit log).",
                                                  show_default=False)] = None,
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Undo a clear or snooze (or a whole batch): the deal is restored exactly, except its version."""
    if (action_id is None) == (batch is None):
        _fail("ACTION_ID", "give an action id or --batch BATCH (one of them)")
    if action_id is not None:
        try:  # 2**63 overflowed SQLite's integer in the lookup
            ROW_ID.check("ACTION_ID", action_id)
        except OutOfBounds as exc:
            _fail("ACTION_ID", exc.message)
    setup(db)
    from bestby.clearance.services import ClearanceError, undo, undo_batch

    user = _user(by)
    try:
        undos = [undo(action=action_id, reason=reason or "", by=user)] if batch is None else \
            undo_batch(batch=batch, reason=reason or "", by=user)
    except ClearanceError as exc:
        _service_error(exc)
    table = Table(title="Undone")
    for col in ("undo", "undid", "deal", "now"):
        table.add_column(col, justify="right" if col in ("undo", "undid") else "left")
    for u in undos:
        original = u.undoes
        now = (f"{u.after['deal']['stage']} ({u.after['deal']['status']})" if original.kind == "clear"
               else f"no longer snoozed (was until {original.until.isoformat()})")
        table.add_row(f"#{u.pk}", f"#{original.pk} {original.kind}", u.deal.external_id, now)
    console.print(table)


@app.command("refresh")
def refresh_cmd(
    as_of: AsOfOption = None,
    policy_file: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Recompute every open deal's freshness and store it for the web app and the API (run after imports)."""
    import time

    when = _parse_as_of(as_of)
    resolve_policy(policy_file, stored=False)  # a bad policy file is refused before the store is touched
    setup(db)
    policy = resolve_policy(policy_file)  # now the policy stored on the Settings page counts too
    from bestby.clearance.snapshot import refresh

    started = time.perf_counter()
    with console.status("Computing freshness of every open deal..."):
        n = refresh(as_of=when, policy=policy)
    console.print(f"Stored the freshness of {n:,} open deals at {when:%Y-%m-%d %H:%M} UTC "
                  f"in {time.perf_counter() - started:.1f} s.", highlight=False)

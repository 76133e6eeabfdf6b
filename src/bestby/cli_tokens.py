"""The `bestby token` commands: create, list and revoke API tokens (thin adapters over bestby.api.tokens).

A token is printed once, at creation; only its SHA-256 digest is stored, so a
lost token cannot be shown again: revoke it and create another. Every refusal
exits with code 2 and names the argument at fault.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from bestby.cli import DbOption, app, console, err, setup

token_app = typer.Typer(help="Manage API tokens (Authorization: Bearer <token>).", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _fail(param: str, message: str) -> None:
    err.print(f"{param}: {message}", markup=False, highlight=False, soft_wrap=True)
    err.print("Nothing was changed.", highlight=False)
    raise typer.Exit(2)


def _find_user(key: str, param: str):
    from django.db.models import Q

    from bestby.people.models import User

    user = User.objects.filter(Q(email__iexact=key) | Q(external_id=key) | Q(username=key)).first()
    if user is None:
        _fail(param, f"{key!r}: no user has this e-mail or id")
    return user


@token_app.command("create")
def create_cmd(
    user: Annotated[str, typer.Argument(metavar="EMAIL_OR_ID", help="E-mail or user id of the token's owner.")],
    name: Annotated[str, typer.Option("--name", help="What or who uses the token (shown in lists).")],
    db: DbOption = None,
) -> None:
    """Create an API token for a user and print it (once)."""
    setup(db)
    from bestby.api.tokens import TokenError, create_token

    owner = _find_user(user, "EMAIL_OR_ID")
    try:
        row, secret = create_token(user=owner, name=name)
    except TokenError as exc:
        _fail({"name": "--name", "user": "EMAIL_OR_ID"}.get(exc.param, exc.param), exc.message)
    console.print(secret, markup=False, highlight=False, soft_wrap=True)
    err.print(f"Token {row.prefix}… for {owner.email or owner.external_id} ({row.name}). Copy it now: it is "
              "shown only this once (only its digest is stored). Revoke it with "
              f"`bestby token revoke {row.prefix}`.", markup=False, highlight=False, soft_wrap=True)


@token_app.command("list")
def list_cmd(
    user: Annotated[Optional[str], typer.Option("--user", help="Only this user's tokens (e-mail or id).")] = None,
    db: DbOption = None,
) -> None:
    """List tokens: prefix, user, name, created, last used, revoked (never the tokens themselves)."""
    setup(db)
    from bestby.api.models import ApiToken

    rows = ApiToken.objects.select_related("user").order_by("created_at", "pk")
    if user is not None:
        rows = rows.filter(user=_find_user(user, "--user"))
    table = Table(title="API tokens")
    for column in ("prefix", "user", "name", "created", "last used", "revoked"):
        table.add_column(column)
    fmt = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else ""  # noqa: E731
    for t in rows:
        table.add_row(t.prefix, t.user.email or t.user.external_id, t.name, fmt(t.created_at), fmt(t.last_used_at),
                      fmt(t.revoked_at))
    console.print(table)


@token_app.command("revoke")
def revoke_cmd(
    prefix: Annotated[str, typer.Argument(metavar="PREFIX", help="The token's prefix, as `bestby token list` shows.")],
    db: DbOption = None,
) -> None:
    """Revoke a token: requests with it are refused (401) from now on."""
    setup(db)
    from bestby.api.tokens import TokenError, revoke

    try:
        row = revoke(prefix)
    except TokenError as exc:
        _fail(exc.param, exc.message)
    console.print(f"Revoked {row.prefix}… ({row.name}) of {row.user.email or row.user.external_id}.", markup=False)

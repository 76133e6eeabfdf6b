"""The ``bestby`` command: a thin adapter that parses options, calls one service, and shows the result."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bestby.bounds import SEED, IntBound

app = typer.Typer(help="bestby: the sales pipeline as inventory, with learned best-by dates.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
import_app = typer.Typer(help="Import data into the store.", no_args_is_help=True)
user_app = typer.Typer(help="Manage sign-ins.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(user_app, name="user")

console = Console()
err = Console(stderr=True)

def bounded(bound):
    """A Typer callback refusing a value outside ``bound`` (a :mod:`bestby.bounds` rule): exit 2 naming the option.

    Callbacks run while the command line is parsed, so a refused value stops the command before the store is
    opened (nothing read, nothing written) and before any engine starts.
    """
    def check(ctx: typer.Context, param: typer.CallbackParam, value):
        from bestby.bounds import OutOfBounds

        if value is None or ctx.resilient_parsing:
            return value
        try:
            return bound.check(param.opts[0] if param.opts else param.name, value)
        except OutOfBounds as exc:
            raise typer.BadParameter(exc.message, ctx=ctx, param=param) from None

    return check


def check_day(value, option: str):
    """A parsed date or datetime inside :data:`bestby.bounds.DATES`, else exit 2 naming ``option``."""
    from bestby.bounds import DATES, OutOfBounds

    try:
        return DATES.check(option, value)
    except OutOfBounds as exc:
        raise typer.BadParameter(exc.message, param_hint=f"'{option}'") from None


DbOption = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: $BESTBY_DATABASE_URL, else sqlite in $BESTBY_HOME).", show_default=False)]
# The ranges of the options that count something (bestby.bounds has the shared ones, and why)
SYNTH_DEALS = IntBound(1, 10_000_000)  # a synthetic data set: 10 million deals is ~10 GB of CSV, beyond any benchmark
DEMO_DEALS = IntBound(10, 1_000_000)  # the demo imports every deal into the store and serves it
PORT = IntBound(1, 65_535)  # a TCP port
THREADS = IntBound(1, 256)  # threads per worker: each holds a database connection
WORKERS = IntBound(0, 64)  # worker processes: each keeps its own copy of the open book
PortOption = Annotated[int, typer.Option("--port", callback=bounded(PORT), help="Port to listen on, 1 to 65,535.")]
AcceptOption = Annotated[bool, typer.Option(
    "--accept-collisions",
    help="Apply even though the report warns of ids stored as what look like other records, or of changes to "
         "your own user record (--by). Without it such an import is refused and nothing is written.")]
ImportByOption = Annotated[Optional[str], typer.Option(
    "--by", help="E-mail or user id of who imports (the audit log; an import changing their own record needs "
                 "--accept-collisions).", show_default=False)]


def setup(db: str | None, *, migrate: bool = True) -> None:
    """Point Django at the configured database, and bring its schema up to date."""
    if db:
        os.environ["BESTBY_DATABASE_URL"] = db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bestby.settings")
    from bestby.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    if migrate:
        from django.core.management import call_command
        from django.db import OperationalError

        try:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)  # backtest and report documents (settings.CACHES)
        except OperationalError as exc:
            from django.conf import settings

            db_name = settings.DATABASES["default"].get("NAME")
            err.print(f"[red]Cannot open the database[/red] {db_name}: {exc}\n"
                      "Check --db / BESTBY_DATABASE_URL, and that the server is running.")
            raise typer.Exit(2) from None


class _Bars:
    """A Rich progress bar per file, fed by the services' progress callbacks."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def __call__(self, name: str, advance: int, total: int) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total or None)
        self.progress.update(self.tasks[name], advance=advance, total=total or None)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=False, disable=not err.is_terminal and not os.environ.get("BESTBY_FORCE_PROGRESS"))


def _print_report(report, as_json: bool) -> None:
    from bestby.cli_imports import print_report

    print_report(report, as_json)


def refuse_import(problems: list, truncated: int, advice: str) -> None:
    """Print an import's problems (file, line, column, message), what to do next, and exit with code 1."""
    err.print(f"[red bold]Import refused[/red bold]: {len(problems) + truncated} problem(s); nothing was written.")
    for p in problems:
        err.print(f"  {p}", markup=False, highlight=False, soft_wrap=True)
    if truncated:
        err.print(f"  ... and {truncated} more")
    err.print(advice)
    raise typer.Exit(1)


def _run_import(folder: Path, dry_run: bool, as_json: bool, extra_notes: list[str] | None = None, *,
                by: str | None = None, accept: bool = False) -> None:
    from bestby.cli_imports import find_user, refuse_warnings
    from bestby.importers.canonical import WarningsNotAccepted, import_canonical
    from bestby.importers.problems import ImportFailed

    user = find_user(by)
    try:
        with _progress() as progress:
            report = import_canonical(folder, dry_run=dry_run, progress=_Bars(progress), by=user,
                                      accept_warnings=accept)
    except WarningsNotAccepted as exc:
        refuse_warnings(exc)
    except ImportFailed as exc:
        refuse_import(exc.problems, exc.truncated, "Fix the file(s) and run the same command again.")
    if extra_notes:
        report.notes[:0] = extra_notes
    _print_report(report, as_json)


@import_app.command("canonical")
def import_canonical_cmd(
    folder: Annotated[Path, typer.Argument(help="A FORMAT.md folder of CSV or Parquet files.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate everything and count; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    accept: AcceptOption = False,
    by: ImportByOption = None,
    db: DbOption = None,
) -> None:
    """Import a FORMAT.md folder: atomic, idempotent, with what changes per file; undone with `bestby import undo`."""
    setup(db)
    _run_import(folder, dry_run, as_json, by=by, accept=accept)


@import_app.command("maven")
def import_maven_cmd(
    folder: Annotated[Path, typer.Argument(help="The Maven 'CRM Sales Opportunities' folder (sales_pipeline.csv ...).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate everything and count; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    accept: AcceptOption = False,
    by: ImportByOption = None,
    db: DbOption = None,
) -> None:
    """Import the Maven Analytics CRM Sales Opportunities data set."""
    import tempfile

    from bestby.importers.maven import maven_to_canonical

    setup(db)
    with tempfile.TemporaryDirectory(prefix="bestby-maven-") as tmp:
        try:
            mapped = maven_to_canonical(folder, Path(tmp))
        except (ValueError, OSError) as exc:
            err.print(f"[red bold]Import refused[/red bold]: {exc}", highlight=False)
            raise typer.Exit(1) from None
        _run_import(Path(tmp), dry_run, as_json, extra_notes=mapped.notes, by=by, accept=accept)


@app.command("export", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def export_cmd(
    ctx: typer.Context,
    folder: Annotated[str, typer.Argument(metavar="DIR", help="Folder to write the FORMAT.md CSV files into.")],
    db: DbOption = None,
) -> None:
    """Write the store as a FORMAT.md folder, or the clearance decisions for the CRM of record.

    `bestby export DIR` writes every FORMAT.md file into DIR.

    `bestby export decisions --since YYYY-MM-DD --format salesforce|hubspot|pipedrive|csv
    [--loss-reason-field NAME] FILE` writes every clear, snooze and undo since the date: for a CRM,
    one row per deal with its net state in the shape of that CRM's bulk update; for csv, the log.
    (To write a folder named "decisions", write ./decisions.)
    """
    if folder == "decisions":
        from bestby.cli_decisions import run_decisions

        run_decisions(list(ctx.args) + (["--db", db] if db else []))
        return
    if ctx.args:
        err.print(f"export: unexpected arguments {' '.join(ctx.args)}; the form is `bestby export DIR [--db URL]`",
                  markup=False, highlight=False)
        raise typer.Exit(2)
    from bestby.exporters import export_canonical

    setup(db)
    with _progress() as progress:
        counts = export_canonical(Path(folder), progress=_Bars(progress))
    table = Table(title=f"Exported to {folder}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(f"{name}.csv", f"{n:,}")
    console.print(table)


@app.command("synth")
def synth_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder to write the data set into.")],
    deals: Annotated[int, typer.Option("--deals", callback=bounded(SYNTH_DEALS),
                                       help="Number of deals, 1 to 10,000,000 (about 10 GB of files).")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", callback=bounded(SEED), help="Random seed, 0 to 4,294,967,295; "
                                      "the same seed gives the same files.")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Write a realistic, deterministic FORMAT.md data set."""
    from bestby.synth import write_synth

    if fmt not in ("csv", "parquet"):
        err.print(f"[red]--format {fmt!r}[/red]: use csv or parquet")
        raise typer.Exit(2)
    with _progress() as progress:
        summary = write_synth(folder, deals=deals, seed=seed, fmt=fmt, progress=_Bars(progress))
    table = Table(title=f"Synthetic data set in {folder}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, n in summary.rows.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


@user_app.command("add")
def user_add_cmd(
    email: Annotated[str, typer.Argument(help="E-mail address; also the sign-in name.")],
    role: Annotated[str, typer.Option("--role", help="rep, manager or admin.")],
    name: Annotated[Optional[str], typer.Option("--name", help="Display name.")] = None,
    manager: Annotated[Optional[str], typer.Option("--manager", help="E-mail or user id of the manager.")] = None,
    team: Annotated[Optional[str], typer.Option("--team", help="Team name.")] = None,
    db: DbOption = None,
) -> None:
    """Create a sign-in; the password comes from $BESTBY_PASSWORD or a prompt."""
    setup(db)
    from bestby.people.services import UserError, add_user

    password = os.environ.get("BESTBY_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            err.print("[red]No password[/red]: set BESTBY_PASSWORD or run in a terminal to be prompted.")
            raise typer.Exit(2)
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(email=email, role=role, password=password, name=name or "", manager=manager, team=team or "")
    except UserError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"Created {user.role} [bold]{user.username}[/bold] (id {user.external_id}).")


@app.command("migrate")
def migrate_cmd(db: DbOption = None) -> None:
    """Create or update the database schema."""
    setup(db)
    console.print("Database schema is up to date.")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: PortOption = 8000,
    threads: Annotated[int, typer.Option("--threads", callback=bounded(THREADS),
                                         help="Threads per worker process, 1 to 256.")] = 8,
    workers: Annotated[int, typer.Option("--workers", callback=bounded(WORKERS),
                                         help="Worker processes, 0 to 64 (0: one per core, at most 4).")] = 0,
    db: DbOption = None,
) -> None:
    """Serve the web app on the configured database (migrating it first).

    Errors are logged to standard error: every 500 with its traceback, refused requests (a bad host, a
    CSRF failure), from the one process or from each worker. BESTBY_LOG_FILE names a file that receives
    the same log (created 0600; reopened when logrotate moves it). Behind a TLS proxy set BESTBY_HTTPS=1
    and BESTBY_PROXY_SSL_HEADER (see the README's Deployment section).
    """
    setup(db)
    _serve(host, port, threads, workers or default_workers())


def default_workers() -> int:
    """One worker process per core, at most 4.

    A Python process runs Python code on one core at a time (the GIL), so on
    a machine with several cores one process leaves the others idle while
    requests queue. Each worker keeps its own copy of the open book (about
    20 MB and ~2 s to build per 100,000 open deals, see
    :mod:`bestby.clearance.openbook`), hence the cap.
    """
    return max(1, min(4, os.cpu_count() or 1))


def _serve(host: str, port: int, threads: int, workers: int = 1) -> None:
    # Nothing that opens the database may be inherited across gunicorn's fork: the set-up above (migrate, the
    # demo's import and refresh) used Django's connections in this process, which becomes the master. A SQLite
    # handle shared by two processes breaks SQLite's locking (each process must open its own), and a
    # PostgreSQL socket shared by two processes mixes their conversations.
    from django.db import connections

    connections.close_all()
    console.print(f"bestby is serving on [bold]http://{host}:{port}/[/bold] "
                  f"({workers} worker process{'es' if workers > 1 else ''} x {threads} threads; Ctrl+C to stop)")
    from bestby.server import serve_workers

    serve_workers(host, port, threads=threads, workers=workers)


@app.command("demo")
def demo_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: PortOption = 8000,
    deals: Annotated[int, typer.Option("--deals", callback=bounded(DEMO_DEALS),
                                       help="Deals in the sample workspace, 10 to 1,000,000.")] = 2_000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server after setting up.")] = True,
    db: DbOption = None,
) -> None:
    """Set up a sample workspace (synthetic data, demo sign-ins) and serve it."""
    setup(db)
    from bestby.demo import prepare_demo

    with _progress() as progress:
        info = prepare_demo(deals=deals, progress=_Bars(progress))
    console.print(info.summary)
    console.print(
        f"Demo sign-in at http://{host}:{port}/ : [bold]{info.manager_login}[/bold] (manager), "
        f"[bold]{info.rep_login}[/bold] (rep) or [bold]{info.admin_login}[/bold] (admin, also /admin/); "
        f"password [bold]{info.password}[/bold]",
        highlight=False,
    )
    if serve:
        _serve(host, port, 8, default_workers())


# ---------------------------------------------------------------- engine (read-only)

# the engine's and the clearance commands register themselves on `app` (kept in their own modules by
# feature). Under `python -m bestby.cli` this file runs as __main__: the importable module registers them
# (see the end of the file), so they are not imported into __main__ as well (a circular import).
if __name__ != "__main__":
    from bestby import cli_adherence  # noqa: E402,F401
    from bestby import cli_analytics  # noqa: E402,F401
    from bestby import cli_backup  # noqa: E402,F401
    from bestby import cli_backtest  # noqa: E402,F401
    from bestby import cli_cadence  # noqa: E402,F401
    from bestby import cli_clearance  # noqa: E402,F401
    from bestby import cli_coverage  # noqa: E402,F401
    from bestby import cli_crm  # noqa: E402,F401
    from bestby import cli_imports  # noqa: E402,F401
    from bestby import cli_tokens  # noqa: E402,F401


def main() -> None:
    app()


if __name__ == "__main__":
    # run the commands of the importable module, where cli_analytics registered its commands
    from bestby.cli import main as _main

    _main()

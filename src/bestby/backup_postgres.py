"""PostgreSQL backup and restore through ``pg_dump -Fc`` and ``pg_restore`` (Debian's postgresql-client).

Why the client tools and not SQL of our own: ``pg_dump`` takes one consistent
snapshot (a repeatable-read transaction) while the server keeps writing,
knows every object type (sequences and their values, constraints, indexes),
and its custom format is compressed and read back selectively by
``pg_restore``. The tools must be at least the server's major version:
``pg_dump`` refuses a newer server, so :func:`check_client` says so first,
with what to install.

Restore runs ``pg_restore --clean --if-exists --single-transaction
--exit-on-error --no-owner``: every table of the backup is dropped and
recreated from it in one transaction, so an error leaves the database as it
was. ``--no-owner`` makes the restoring role the owner (the backup may come
from a server where another role owned the tables). Tables that are in the
database but not in the backup are left alone and reported.

Connection settings go to the tools through the environment (``PGHOST``,
``PGPASSWORD``...), never on the command line, where other local users could
read a password in the process list.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

__all__ = ["HEADER", "ToolError", "check_client", "dump_into", "env_for", "read_backup", "restore_from",
           "server_major", "tool"]

HEADER = b"PGDMP"
Progress = Callable[[str, int, int], None]
_INSTALL = ("install Debian's postgresql-client-{major} (apt install postgresql-client-{major}; the PostgreSQL apt "
            "repository has every version) or put a matching pg_dump/pg_restore first on PATH")


class ToolError(RuntimeError):
    """A client tool is missing, too old, or failed; the message says which and what to do."""


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolError(f"{name} is not installed: install Debian's postgresql-client (apt install "
                        f"postgresql-client) or put {name} first on PATH")
    return found


def client_major(name: str) -> int:
    """The major version of a client tool (``pg_dump (PostgreSQL) 15.20 (Debian ...)`` -> 15)."""
    out = subprocess.run([tool(name), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    if match is None:
        raise ToolError(f"cannot read the version of {name} from {out.strip()!r}")
    return int(match.group(1))


def server_major(server_version_num: int) -> int:
    """``server_version_num`` (150020) -> 15; before PostgreSQL 10 the major was two numbers (90624 -> 9)."""
    return server_version_num // 10000


def check_client(name: str, server: int) -> int:
    """Refuse a client tool older than the server (ToolError says what to install); return its major version."""
    major = client_major(name)
    if major < server:
        raise ToolError(f"{name} {major} is older than the PostgreSQL {server} server and cannot {'dump' if name == 'pg_dump' else 'restore'} "
                        "it: " + _INSTALL.format(major=server))
    return major


def env_for(db: dict) -> dict[str, str]:
    """The tools' environment for Django's database settings ``db``."""
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD"),
                     ("NAME", "PGDATABASE")):
        if db.get(key):
            env[var] = str(db[key])
    options = db.get("OPTIONS") or {}
    if options.get("sslmode"):
        env["PGSSLMODE"] = str(options["sslmode"])
    return env


def _run_counting(args: list[str], *, env: dict, stdout, marker: str, total: int, label: str,
                  progress: Progress | None) -> str:
    """Run a tool with --verbose, advancing ``progress`` at each stderr line holding ``marker``; return stderr."""
    proc = subprocess.Popen(args, stdout=stdout, stderr=subprocess.PIPE, env=env, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if progress is not None and marker in line:
            progress(label, 1, total)
    code = proc.wait()
    text = "".join(lines)
    if code != 0:
        errors = [ln.strip() for ln in lines if "error" in ln.lower() or "fatal" in ln.lower()] or lines[-5:]
        raise ToolError(f"{Path(args[0]).name} failed (exit {code}): " + " | ".join(e.strip() for e in errors[:5]))
    return text


def dump_into(db: dict, out, *, tables: int, progress: Progress | None = None) -> None:
    """``pg_dump -Fc`` of ``db`` written to the open binary file ``out`` (one consistent snapshot)."""
    _run_counting([tool("pg_dump"), "--format=custom", "--verbose", "--no-password"], env=env_for(db), stdout=out,
                  marker="dumping contents of table", total=tables, label="backup", progress=progress)


def read_backup(path: Path) -> dict:
    """What a ``pg_dump -Fc`` file holds: ``tables``, ``data`` (tables with data), ``created``, ``migrations``.

    ``migrations`` is the set of (app, name) rows of its django_migrations
    table, read by ``pg_restore`` without touching any database. Raises
    ToolError when ``pg_restore`` cannot read the file.
    """
    listing = subprocess.run([tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise ToolError(f"pg_restore cannot read it: {listing.stderr.strip()}")
    tables, data = set(), set()
    created = ""
    for line in listing.stdout.splitlines():
        if line.startswith(";") and "Archive created at" in line:
            created = line.split("Archive created at", 1)[1].strip()
        parts = line.split()
        if " TABLE DATA " in line:
            data.add(parts[-2])
        elif " TABLE " in line and len(parts) >= 2:
            tables.add(parts[-2])
    migrations = set()
    if "django_migrations" in data:
        text = subprocess.run([tool("pg_restore"), "--data-only", "--table=django_migrations", "--file=-", str(path)],
                              capture_output=True, text=True, check=True).stdout
        migrations = parse_copy(text, ("app", "name"))
    return {"tables": tables, "data": data, "created": created, "migrations": migrations}


def parse_copy(text: str, columns: tuple[str, ...]) -> set[tuple[str, ...]]:
    """The rows of the first ``COPY table (cols) FROM stdin;`` block of a SQL script, cut to ``columns``.

    COPY text format: fields separated by tabs, ``\\N`` for NULL, the block
    ends at a line ``\\.``; backslash escapes are left as they are (bestby's
    app and migration names have none).
    """
    rows: set[tuple[str, ...]] = set()
    lines = iter(text.splitlines())
    for line in lines:
        match = re.match(r"COPY [^(]+\(([^)]*)\) FROM stdin;", line)
        if match is None:
            continue
        names = [c.strip().strip('"') for c in match.group(1).split(",")]
        idx = [names.index(c) for c in columns]
        for row in lines:
            if row == "\\.":
                return rows
            cells = row.split("\t")
            rows.add(tuple(cells[i] for i in idx))
    return rows


def restore_from(path: Path, db: dict, *, tables: int, progress: Progress | None = None) -> None:
    """``pg_restore --clean --if-exists --single-transaction`` of ``path`` into ``db`` (module doc)."""
    _run_counting([tool("pg_restore"), "--clean", "--if-exists", "--single-transaction", "--exit-on-error",
                   "--no-owner", "--verbose", "--no-password", f"--dbname={db['NAME']}", str(path)],
                  env=env_for(db), stdout=subprocess.DEVNULL, marker="processing data for table", total=tables,
                  label="restore", progress=progress)

"""Stress the store under real use: `bestby serve` with worker processes, readers and writers at once.

What it proves (issue 13): while clients read every analytics endpoint and
page, others write through the REST API, the pages and the command line; when
the time is up, every acknowledged write is in the database, no worker died,
and the database is intact (SQLite: ``PRAGMA integrity_check``; PostgreSQL:
``amcheck``'s ``bt_index_check`` on every B-tree index). The first version lost
2 of 40 acknowledged writes in 45 s this way, with a corrupt index.

The store is a demo workspace (``bestby demo --no-serve --deals N``) in its own
``BESTBY_HOME`` (SQLite) or its own PostgreSQL database (created, then dropped).
Then ``bestby serve --workers W`` runs on a free loopback port and, for
``--seconds``:

* readers (threads, half signed in as the manager with a session, half with the
  admin's API token) cycle through every analytics page and endpoint;
* an API writer PATCHes the amounts of its own deals (each with the version it
  read) and POSTs touches with new ids;
* a page writer edits the amounts of its own deals through the deal page's form
  (session, CSRF token, version);
* a command-line writer runs ``bestby snooze`` on its own deals with a reason
  naming the attempt, and ``bestby refresh`` (the freshness cache: a bulk write
  the pages read) every few rounds.

A write is acknowledged when its answer says it was saved (200 with the saved
row, the page's "Saved.", exit status 0). For each deal the final amount must be
the last acknowledged one (a write whose answer was lost may also have landed:
then it may be that one); every acknowledged touch and snooze must be there.
Worker processes are watched (their pids, and the server log for workers that
exited or were killed). Any 5xx answer is counted as an error.

    .venv/bin/python bench/stress.py [--db sqlite|postgres] [--seconds 300] [--deals 3000]
        [--readers 4] [--workers 2] [--threads 4] [--postgres-url URL]

The suite runs the same driver for a short time on both databases
(``tests/test_stress.py``); this script runs it longer and prints the figures.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BESTBY = str(Path(sys.executable).with_name("bestby"))
PASSWORD = "stress-Secret-42"
TIMEOUT = 300  # seconds a client waits for one answer: an analytics page may take long on a busy machine

# every analytics page and endpoint (the manager reads the pages, the admin's token the API); the quick reads of the
# engine (shelf life, a deal's win curve) come more often: each is a read of the whole store beside the workers'
# own connections, the moment the first version lost commits
PAGES = ["/", "/board/", "/clearance/", "/forecast/", "/coverage/", "/funnel/", "/shelf-life/", "/shelf-life/",
         "/adherence/", "/goals/", "/accounts/", "/today/", "/backtest/"]
API = ["/api/shelf-life", "/api/shelf-life?by=owner", "/api/shelf-life?q=0.5", "/api/freshness", "/api/clearance",
       "/api/coverage", "/api/forecast?deals=20", "/api/funnel", "/api/reverse-funnel", "/api/deals?limit=50",
       "/api/touches?limit=50", "/api/accounts?limit=50", "/api/quotas", "/api/adherence", "/api/today"]


# ---------------------------------------------------------------- set-up

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bestby(args: list[str], env: dict, *, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([BESTBY, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode:
        raise RuntimeError(f"bestby {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Store:
    """A demo workspace to stress: where it is, how to reach it, who signs in."""

    home: Path
    url: str
    env: dict
    manager: str
    admin: str
    token: str
    deals: list[str]          # open deals the writers may touch, split between them
    dropped: str | None = None  # the PostgreSQL database to drop at the end

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:")


def prepare(home: Path, *, db: str = "sqlite", deals: int = 3_000, postgres_url: str | None = None) -> Store:
    """A fresh demo workspace of ``deals`` deals in ``home`` (SQLite) or in a new PostgreSQL database."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    dropped = None
    if db == "sqlite":
        url = f"sqlite:///{home / 'stress.sqlite3'}"
    else:
        import psycopg

        base = postgres_url or os.environ.get("BESTBY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        dropped = f"bestby_stress_{os.getpid()}"
        with psycopg.connect(base, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{dropped}"')
            con.execute(f'CREATE DATABASE "{dropped}"')
        url = base.rsplit("/", 1)[0] + f"/{dropped}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BESTBY_", "DJANGO_"))}
    env.update(BESTBY_HOME=str(home), BESTBY_DATABASE_URL=url, BESTBY_DEMO_PASSWORD=PASSWORD, COLUMNS="400")
    out = bestby(["demo", "--no-serve", "--deals", str(deals)], env).stdout
    found = re.search(r"sign-in at \S+\s+:\s+(\S+)\s+\(manager\),\s+(\S+)\s+\(rep\)\s+or\s+(\S+)\s+\(admin", out)
    if not found:
        raise RuntimeError(f"no demo sign-ins in:\n{out}")
    manager, _rep, admin = found.groups()
    token = bestby(["token", "create", admin, "--name", "stress"], env).stdout.strip()
    open_deals = _query(url, "SELECT external_id FROM pipeline_deal WHERE status = 'open' ORDER BY external_id")
    return Store(home, url, env, manager, admin, token, [r[0] for r in open_deals], dropped)


def _query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the store with a connection of this process's own (SQLite's '?' placeholders are rewritten for psycopg)."""
    if url.startswith("sqlite:"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    import psycopg

    with psycopg.connect(url) as con:
        return con.execute(sql.replace("?", "%s"), params).fetchall()


def integrity(store: Store) -> str:
    """'ok' when the database is intact (SQLite integrity_check; PostgreSQL amcheck on every B-tree index)."""
    if store.is_sqlite:
        rows = _query(store.url, "PRAGMA integrity_check")
        return "ok" if rows == [("ok",)] else "; ".join(r[0] for r in rows[:5])
    import psycopg

    with psycopg.connect(store.url, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        indexes = con.execute(
            "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname = 'public'").fetchall()
        bad = []
        for oid, name in indexes:
            try:
                con.execute("SELECT bt_index_check(%s::regclass, true)", (oid,))
            except psycopg.Error as exc:
                bad.append(f"{name}: {exc}")
    return "ok" if not bad else "; ".join(bad[:5])


def drop(store: Store) -> None:
    if store.dropped is None:
        return
    import psycopg

    base = store.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{store.dropped}" WITH (FORCE)')


# ---------------------------------------------------------------- the server

class Server:
    """`bestby serve` in a subprocess; its log kept in a file; its worker pids watched."""

    def __init__(self, store: Store, *, workers: int, threads: int) -> None:
        self.port = free_port()
        self.log_path = store.home / "serve.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [BESTBY, "serve", "--port", str(self.port), "--workers", str(workers), "--threads", str(threads)],
            env=store.env, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self.workers = workers

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bestby serve exited:\n{self.log_path.read_text()}")
            try:
                if request(self.port, "GET", "/healthz")[0] == 200 and len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"bestby serve not ready in {timeout} s:\n{self.log_path.read_text()}")
            time.sleep(0.2)

    def worker_pids(self) -> set[int]:
        return children(self.proc.pid)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code

    def deaths(self) -> list[str]:
        """Lines of the server log that say a worker died (killed by a signal, exited, timed out)."""
        pattern = re.compile(r"Worker \(pid:\d+\) (was sent|exited)|WORKER TIMEOUT|Booting worker with pid", re.I)
        lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if pattern.search(ln)]
        boots = [ln for ln in lines if "Booting worker" in ln]
        return [ln for ln in lines if "Booting worker" not in ln] + boots[self.workers:]


def children(pid: int) -> set[int]:
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.add(int(entry.name))
    return kids


# ---------------------------------------------------------------- clients

def request(port: int, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
            timeout: float = TIMEOUT) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response
    finally:
        conn.close()


class Session:
    """A signed-in browser: a cookie jar, CSRF tokens read from the forms."""

    def __init__(self, port: int, username: str) -> None:
        self.port, self.cookies = port, {}
        status, body = self.get("/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        status, _ = self.post("/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in as {username} failed ({status})")

    def _headers(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                "Referer": f"http://127.0.0.1:{self.port}/"}

    def _keep(self, response) -> None:
        for header in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def get(self, path: str) -> tuple[int, bytes]:
        status, body, response = request(self.port, "GET", path, headers=self._headers())
        self._keep(response)
        return status, body

    def post(self, path: str, data: dict) -> tuple[int, bytes]:
        headers = dict(self._headers(), **{"Content-Type": "application/x-www-form-urlencoded"})
        status, body, response = request(self.port, "POST", path, body=urllib.parse.urlencode(data).encode(),
                                         headers=headers)
        self._keep(response)
        return status, body


@dataclass
class Tally:
    """What the clients did and saw; shared by the threads (one lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter = field(default_factory=Counter)       # kind -> count
    statuses: Counter = field(default_factory=Counter)       # status -> count
    errors: list = field(default_factory=list)               # (what, status or exception)
    refused: Counter = field(default_factory=Counter)        # (what, 4xx status) -> count
    latency: dict = field(default_factory=dict)              # kind -> [seconds]
    amounts: dict = field(default_factory=dict)              # deal -> [(amount, acknowledged)]
    touches: list = field(default_factory=list)              # acknowledged touch ids
    snoozes: list = field(default_factory=list)              # acknowledged snooze reasons
    attempts: Counter = field(default_factory=Counter)       # write kind -> attempts
    acked: Counter = field(default_factory=Counter)          # write kind -> acknowledged

    def seen(self, kind: str, status: int | None, seconds: float, what: str) -> None:
        with self.lock:
            self.requests[kind] += 1
            self.statuses[status] += 1
            self.latency.setdefault(kind, []).append(seconds)
            if status is None or status >= 500:
                self.errors.append((what, status))
            elif status >= 400:
                self.refused[(what, status)] += 1


def _timed(tally: Tally, kind: str, what: str, call):
    t0 = time.perf_counter()
    try:
        status, body = call()
    except (OSError, http.client.HTTPException) as exc:
        tally.seen(kind, None, time.perf_counter() - t0, f"{what}: {exc!r}")
        return None, b""
    tally.seen(kind, status, time.perf_counter() - t0, what)
    return status, body


def reader(store: Store, port: int, stop: threading.Event, tally: Tally, seed: int, *, pages: bool) -> None:
    rng = random.Random(seed)
    session = Session(port, store.manager) if pages else None
    auth = {"Authorization": f"Bearer {store.token}"}
    some = rng.sample(store.deals, 3)
    paths = list(PAGES if pages else API) + ([f"/deals/{d}/{part}" for d in some for part in ("", "curve/")]
                                             if pages else [f"/api/deals/{d}" for d in some])
    while not stop.is_set():
        rng.shuffle(paths)
        for path in paths:
            if stop.is_set():
                return
            if pages:
                _timed(tally, "page", path, lambda p=path: session.get(p))
            else:
                _timed(tally, "api", path, lambda p=path: request(port, "GET", p, headers=auth)[:2])


def api_writer(store: Store, port: int, stop: threading.Event, tally: Tally, deals: list[str]) -> None:
    auth = {"Authorization": f"Bearer {store.token}", "Content-Type": "application/json"}
    for n in itertools.count():
        if stop.is_set():
            return
        deal = deals[n % len(deals)]
        status, body = _timed(tally, "write", f"GET /api/deals/{deal}",
                              lambda: request(port, "GET", f"/api/deals/{deal}", headers=auth)[:2])
        if status != 200:
            continue
        version = json.loads(body)["version"]
        amount = f"{100_000 + n}.{n % 100:02d}"
        payload = json.dumps({"version": version, "amount": amount, "reason": f"stress api {n}"}).encode()
        with tally.lock:
            tally.amounts.setdefault(deal, []).append([amount, False])
            tally.attempts["api amount"] += 1
        status, body = _timed(tally, "write", f"PATCH /api/deals/{deal}",
                              lambda: request(port, "PATCH", f"/api/deals/{deal}", body=payload, headers=auth)[:2])
        if status == 200 and json.loads(body)["amount"] is not None:
            with tally.lock:
                tally.amounts[deal][-1][1] = True
                tally.acked["api amount"] += 1
        touch = f"stress-{os.getpid()}-{n}"
        payload = json.dumps({"id": touch, "at": datetime.now(UTC).isoformat(), "channel": "phone",
                              "direction": "out", "outcome": "no_answer", "deal": deal}).encode()
        with tally.lock:
            tally.attempts["api touch"] += 1
        status, _ = _timed(tally, "write", "POST /api/touches",
                           lambda: request(port, "POST", "/api/touches", body=payload, headers=auth)[:2])
        if status == 201:
            with tally.lock:
                tally.touches.append(touch)
                tally.acked["api touch"] += 1


_INPUT = re.compile(rb'<input[^>]*name="(version|name|amount|close_date)"[^>]*value="([^"]*)"')
_STAGE = re.compile(rb'<option value="(\d+)" selected>')
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def page_writer(store: Store, port: int, stop: threading.Event, tally: Tally, deals: list[str]) -> None:
    import html

    session = Session(port, store.admin)
    future = (date.today() + timedelta(days=60)).isoformat()  # a close date in the future needs no confirmation
    for n in itertools.count():
        if stop.is_set():
            return
        deal = deals[n % len(deals)]
        status, body = _timed(tally, "write", f"GET /deals/{deal}/", lambda: session.get(f"/deals/{deal}/"))
        if status != 200:
            continue
        form = {k.decode(): html.unescape(v.decode()) for k, v in _INPUT.findall(body)}
        stage = _STAGE.search(body)
        amount = f"{500_000 + n}.{n % 100:02d}"
        form.update(amount=amount, close_date=future, stage=stage.group(1).decode() if stage else "",
                    csrfmiddlewaretoken=_CSRF.search(body).group(1).decode())
        with tally.lock:
            tally.amounts.setdefault(deal, []).append([amount, False])
            tally.attempts["page amount"] += 1
        status, body = _timed(tally, "write", f"POST /deals/{deal}/", lambda: session.post(f"/deals/{deal}/", form))
        if status == 200 and b"Saved." in body:
            with tally.lock:
                tally.amounts[deal][-1][1] = True
                tally.acked["page amount"] += 1


def cli_writer(store: Store, stop: threading.Event, tally: Tally, deals: list[str]) -> None:
    until = (date.today() + timedelta(days=30)).isoformat()
    for n in itertools.count():
        if stop.is_set():
            return
        if n % 4 == 3:
            args, kind = ["refresh"], "cli refresh"
        else:
            reason = f"stress cli {os.getpid()} {n}"
            args, kind = ["snooze", deals[n % len(deals)], "--until", until, "--reason", reason, "--by",
                          store.admin], "cli snooze"
        with tally.lock:
            tally.attempts[kind] += 1
        t0 = time.perf_counter()
        proc = bestby(args, store.env, check=False, timeout=TIMEOUT)
        tally.seen("cli", 200 if proc.returncode == 0 else 500, time.perf_counter() - t0,
                   f"bestby {args[0]}: {proc.stderr.strip()[-300:]}")
        if proc.returncode == 0:
            with tally.lock:
                tally.acked[kind] += 1
                if kind == "cli snooze":
                    tally.snoozes.append(reason)


# ---------------------------------------------------------------- the run

@dataclass
class Result:
    seconds: float
    requests: dict
    statuses: dict
    errors: list
    refused: dict
    latency: dict
    attempts: dict
    acknowledged: dict
    lost: list
    worker_deaths: list
    workers_replaced: bool
    integrity: str
    server_exit: int

    @property
    def acknowledged_total(self) -> int:
        return sum(self.acknowledged.values())

    @property
    def ok(self) -> bool:
        return (not self.lost and not self.worker_deaths and not self.workers_replaced and self.integrity == "ok"
                and not self.errors and self.server_exit == 0)


def run(store: Store, *, seconds: float, readers: int = 4, workers: int = 2, threads: int = 4) -> Result:
    """Serve ``store``, read and write it for ``seconds``, stop, and check what was acknowledged."""
    server = Server(store, workers=workers, threads=threads)
    tally, stop = Tally(), threading.Event()
    try:
        server.wait_ready()
        first_workers = server.worker_pids()
        rng = random.Random(13)
        mine = rng.sample(store.deals, min(len(store.deals), 30))
        thirds = [mine[0::3], mine[1::3], mine[2::3]]  # each writer has deals of its own
        clients = [threading.Thread(target=reader, args=(store, server.port, stop, tally, k),
                                    kwargs={"pages": k % 2 == 0}, daemon=True) for k in range(readers)]
        clients += [threading.Thread(target=api_writer, args=(store, server.port, stop, tally, thirds[0]), daemon=True),
                    threading.Thread(target=page_writer, args=(store, server.port, stop, tally, thirds[1]),
                                     daemon=True),
                    threading.Thread(target=cli_writer, args=(store, stop, tally, thirds[2]), daemon=True)]
        t0 = time.monotonic()
        for c in clients:
            c.start()
        stop.wait(seconds)
        stop.set()
        for c in clients:
            c.join(timeout=TIMEOUT + 30)
        elapsed = time.monotonic() - t0
        replaced = server.worker_pids() != first_workers
    finally:
        stop.set()
        exit_code = server.stop()
    lost = check_writes(store, tally)
    return Result(seconds=elapsed, requests=dict(tally.requests), statuses=dict(tally.statuses),
                  errors=tally.errors[:20], refused=dict(tally.refused), latency={k: sorted(v) for k, v in tally.latency.items()},
                  attempts=dict(tally.attempts), acknowledged=dict(tally.acked), lost=lost,
                  worker_deaths=server.deaths(), workers_replaced=replaced, integrity=integrity(store),
                  server_exit=exit_code)


def check_writes(store: Store, tally: Tally) -> list[str]:
    """Every acknowledged write that is not in the database (read with a fresh connection of this process)."""
    lost = []
    amounts = dict(_query(store.url, "SELECT external_id, amount FROM pipeline_deal WHERE external_id IN ({})".format(
        ",".join("?" * len(tally.amounts))), tuple(tally.amounts))) if tally.amounts else {}
    from decimal import Decimal

    for deal, tries in tally.amounts.items():
        acked = [k for k, (_, ok) in enumerate(tries) if ok]
        if not acked:
            continue
        # the last acknowledged amount, or one sent after it whose answer was lost
        allowed = {Decimal(a) for a, _ in tries[acked[-1]:]}
        if amounts.get(deal) is None or Decimal(str(amounts[deal])) not in allowed:
            lost.append(f"deal {deal}: amount {amounts.get(deal)} is not the acknowledged {tries[acked[-1]][0]}")
    if tally.touches:
        found = {r[0] for r in _query(store.url, "SELECT external_id FROM activities_touch WHERE external_id IN ({})"
                                      .format(",".join("?" * len(tally.touches))), tuple(tally.touches))}
        lost += [f"touch {t} is missing" for t in tally.touches if t not in found]
    if tally.snoozes:
        found = {r[0] for r in _query(store.url, "SELECT reason FROM clearance_clearanceaction WHERE reason IN ({})"
                                      .format(",".join("?" * len(tally.snoozes))), tuple(tally.snoozes))}
        lost += [f"snooze {s!r} is missing" for s in tally.snoozes if s not in found]
    return lost


def report(result: Result, label: str) -> str:
    lines = [f"{label}: {result.seconds:.0f} s, {sum(result.requests.values()):,} requests "
             f"({', '.join(f'{k} {v:,}' for k, v in sorted(result.requests.items()))}); "
             f"statuses {dict(sorted(result.statuses.items(), key=str))}"]
    for kind, values in sorted(result.latency.items()):
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        lines.append(f"  {kind:<6} latency p50 {statistics.median(values) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms, "
                     f"max {values[-1] * 1000:,.0f} ms")
    lines.append("  writes: " + ", ".join(f"{k} {result.acknowledged.get(k, 0):,} acknowledged of "
                                          f"{result.attempts[k]:,}" for k in sorted(result.attempts)))
    lines.append(f"  acknowledged writes {result.acknowledged_total:,}, found in the database "
                 f"{result.acknowledged_total - len(result.lost):,}, lost {len(result.lost)}; worker deaths "
                 f"{len(result.worker_deaths)}, workers replaced: {result.workers_replaced}; integrity: "
                 f"{result.integrity}; 5xx or failed requests: {len(result.errors)}; server exit {result.server_exit}")
    if result.refused:
        lines.append("  refused (4xx, not errors): " + ", ".join(f"{w} {s} x{n}" for (w, s), n in result.refused.items()))
    for line in result.lost[:10] + [f"{w}: {s}" for w, s in result.errors[:10]] + result.worker_deaths[:10]:
        lines.append(f"    {line}")
    lines.append(f"  {'PASS' if result.ok else 'FAIL'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--deals", type=int, default=3_000)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--postgres-url", default=None)
    opts = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bestby-stress-"))
    t0 = time.perf_counter()
    store = prepare(home, db=opts.db, deals=opts.deals, postgres_url=opts.postgres_url)
    print(f"stress on {opts.db}: demo workspace of {opts.deals:,} deals ready in {time.perf_counter() - t0:.0f} s; "
          f"{opts.workers} workers x {opts.threads} threads, {opts.readers} readers and 3 writers for "
          f"{opts.seconds:.0f} s", flush=True)
    try:
        result = run(store, seconds=opts.seconds, readers=opts.readers, workers=opts.workers, threads=opts.threads)
        print(report(result, opts.db))
    finally:
        drop(store)
        shutil.rmtree(home, ignore_errors=True)
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()

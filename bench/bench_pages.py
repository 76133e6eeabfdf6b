"""Benchmark the web pages: board and clearance latency over HTTP on a 100,000-open-deal SQLite store.

Target (issue 4, "Speed"): with 100,000 open deals in SQLite, the board and
clearance pages answer with p95 under 200 ms at 10 concurrent clients on
loopback; p50, p95 and p99 are printed.

Synth data leaves about 25% of its deals open at its as_of, so the default
405,000 synth deals give ~101,000 open deals. The Parquet synth folder and the
imported, refreshed store are cached in ``$BESTBY_BENCH_DIR`` (default
/tmp/bestby-bench); generation, import and ``bestby refresh`` times are printed
apart (they are not part of the target). Then:

* the synth admin and the first synth manager get a password (set through Django);
* ``bestby serve`` (its defaults: one worker process per core up to 4, 8 threads each; ``--workers``)
  starts on a free loopback port;
* each of ``--clients`` clients signs in with its own cookie jar and keep-alive
  connection (GET /login/ for the CSRF cookie and field, POST the credentials),
  warms up, then all clients together send ``--requests`` requests each to one
  page; every answer must be 200 and hold the page's heading (a lost session
  would answer 302 to /login/ and fail the run, not fake speed);
* per page and user: p50, p95, p99, max, throughput, PASS/FAIL on p95 < 200 ms.

A page that misses the target is profiled in a separate process (the view
called through Django's RequestFactory on the same store, SQL logged): total
view time, query count and time, and the slowest queries.

    .venv/bin/python bench/bench_pages.py [--deals 405000] [--seed 1] [--clients 10]
        [--requests 50] [--warmup 3] [--pages /board/,/board/?state=stalled,/clearance/]
        [--refresh] [--profile]
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path

# the cache, the console script, the store's files and the synth folder are bench_engine.py's (one cache for both)
from bench_engine import (  # noqa: E402
    BENCH_DIR, BESTBY, load_store, run_bestby as bestby, store_env, synth_folder, verdict)

PASSWORD = "bench-pages-Secret-42"
TARGET_MS = 200.0
OPEN_TARGET = 100_000
MARKERS = {"/board/": "<h1>Pipeline board</h1>", "/clearance/": "<h1>Clearance review</h1>"}


# ---------------------------------------------------------------- data (cached)

def store_home(deals: int, seed: int, as_of: datetime, force_refresh: bool) -> Path:
    """A cached BESTBY_HOME: migrated, the synth engine files imported, the freshness cache refreshed at as_of."""
    home = BENCH_DIR / f"pages-sqlite-d{deals}-s{seed}"
    if (home / "IMPORTED").is_file():
        print(f"  store {deals:,} deals: cached in {home} (import took {(home / 'IMPORTED').read_text()} s)",
              flush=True)
    else:
        migrate_s, import_s = load_store(home, synth_folder(deals, seed))
        (home / "IMPORTED").write_text(f"{import_s:.1f}")
        print(f"  store {deals:,} deals: migrate {migrate_s:.1f} s, import {import_s:.1f} s into {home}", flush=True)
    marker = home / "REFRESHED"
    done = json.loads(marker.read_text()) if marker.is_file() else {}
    if force_refresh or done.get("as_of") != as_of.isoformat():
        env = store_env(home)
        bestby(["migrate"], env)  # the schema may have moved on since the import
        refresh_s, out = bestby(["refresh", "--as-of", as_of.strftime("%Y-%m-%d")], env)
        done = {"as_of": as_of.isoformat(), "seconds": round(refresh_s, 1), "out": " ".join(out.split())}
        marker.write_text(json.dumps(done))
        print(f"  bestby refresh --as-of {as_of:%Y-%m-%d}: {refresh_s:.1f} s ({done['out']})", flush=True)
    else:
        print(f"  bestby refresh --as-of {as_of:%Y-%m-%d}: cached (took {done['seconds']} s: {done['out']})",
              flush=True)
    return home


# ---------------------------------------------------------------- workers (one subprocess each, on the store)

def _django(home: str) -> None:
    os.environ.update(store_env(Path(home)))
    import django

    django.setup()


def worker_users(home: str) -> dict:
    """Give the synth admin and first manager the bench password; count what each sees."""
    _django(home)
    from bestby.clearance.models import Freshness
    from bestby.people import access
    from bestby.people.models import Role, User
    from bestby.pipeline.models import Deal, DealStatus

    out = {"open": Deal.objects.filter(status=DealStatus.OPEN).count(),
           "freshness": Freshness.objects.count()}
    for label, role in (("admin", Role.ADMIN), ("manager", Role.MANAGER)):
        user = User.objects.filter(role=role).order_by("external_id").first()
        if user is None:
            sys.exit(f"no {role} user in the store")
        if not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        visible = access.deals_for(user).filter(status=DealStatus.OPEN)
        out[label] = {"username": user.get_username(), "shown": str(user), "id": user.external_id, "team": user.team,
                      "open": visible.count(),
                      "listed": Freshness.objects.filter(state__in=("expired", "stalled"), deal__in=visible).count()}
    return out


def worker_touch(home: str, n: str) -> dict:
    """Save one open deal as an edit would (its signals move the revision token): a write between page views."""
    _django(home)
    from bestby.pipeline.models import Deal

    deal = Deal.objects.filter(status="open").order_by("pk")[int(n)]
    deal.save(update_fields=["name"])
    return {"deal": deal.external_id}


def worker_profile(home: str, username: str, path: str) -> dict:
    """Call a page's view through RequestFactory, SQL logged: view time, queries, the slowest ones."""
    _django(home)
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import RequestFactory
    from django.urls import resolve

    from bestby.people.models import User

    user = User.objects.get(username=username)
    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")), "localhost")
    factory = RequestFactory(HTTP_HOST=host)
    parsed = urllib.parse.urlsplit(path)
    view = resolve(parsed.path).func
    runs = []
    for _ in range(4):  # the first warms SQLite's page cache
        request = factory.get(path)
        request.user = user
        request.session = {}
        connection.force_debug_cursor = True
        reset_queries()
        t0 = time.perf_counter()
        response = view(request)
        if hasattr(response, "render"):
            response.render()
        elapsed = time.perf_counter() - t0
        queries = [(float(q["time"]), q["sql"]) for q in connection.queries]
        connection.force_debug_cursor = False
        runs.append((elapsed, queries, response.status_code, len(response.content)))
    elapsed, queries, status, size = min(runs[1:], key=lambda r: r[0])
    top = sorted(queries, reverse=True)[:6]
    # where the rest goes: one more run under cProfile (its times are inflated; the shares are what count)
    import cProfile
    import pstats

    request = factory.get(path)
    request.user, request.session = user, {}
    prof = cProfile.Profile()
    prof.enable()
    view(request)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = max(v[3] for v in stats.values())

    def cum(file_part: str, name: str) -> float:
        return max((v[3] for (f, _, n), v in stats.items() if file_part in f and n == name), default=0.0)

    shares = {"template rendering": cum("django/shortcuts.py", "render"),
              "SQLite (execute and fetch)": sum(v[3] for (f, _, n), v in stats.items()
                                                if f == "~" and "sqlite3" in n
                                                and any(m in n for m in ("execute", "fetch"))),
              "ORM building model instances": cum("django/db/models/query.py", "__iter__")}
    return {"view_ms": elapsed * 1000, "status": status, "bytes": size, "queries": len(queries),
            "sql_ms": sum(t for t, _ in queries) * 1000,
            "shares": {k: v / total for k, v in shares.items()},
            "top": [{"ms": t * 1000, "sql": s[:400]} for t, s in top]}


def run_worker(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    if proc.returncode:
        sys.exit(f"worker {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- HTTP clients

class Client:
    """One browser: its own keep-alive connection and cookie jar."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str, dict]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):  # the server may close an idle keep-alive connection: reconnect once
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                text = resp.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        for value in resp.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(value)
            for k, morsel in jar.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(k, None)
                else:
                    self.cookies[k] = morsel.value
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return resp.status, text, dict(resp.getheaders())

    def login(self, username: str, password: str) -> None:
        status, text, _ = self.request("GET", "/login/")
        field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        if status != 200 or not field or "csrftoken" not in self.cookies:
            raise RuntimeError(f"GET /login/: {status}, no CSRF cookie or field")
        status, text, headers = self.request("POST", "/login/", {
            "csrfmiddlewaretoken": field.group(1), "username": username, "password": password, "next": "/board/"})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in as {username} failed: {status} {headers.get('Location', '')} {text[:300]}")

    def close(self) -> None:
        self.conn.close()


def marker(path: str) -> str:
    return MARKERS[urllib.parse.urlsplit(path).path]


def fetch(client: Client, path: str, shown: str) -> float:
    """One timed GET; raises unless it is the page, signed in as the user (whose name the page header shows)."""
    t0 = time.perf_counter()
    status, text, headers = client.request("GET", path)
    elapsed = time.perf_counter() - t0
    if status != 200 or marker(path) not in text or html.escape(shown) not in text:
        raise RuntimeError(f"GET {path} as {shown}: {status} {headers.get('Location', '')} "
                           "(not the signed-in page)")
    return elapsed


def measure(clients: list[Client], path: str, shown: str, requests: int, warmup: int) -> dict:
    """All clients together: ``warmup`` untimed then ``requests`` timed GETs each (the timed part starts
    together, once every client has warmed up)."""
    start = threading.Barrier(len(clients))

    def one(client: Client) -> tuple[float, float, list[float]]:
        for _ in range(warmup):
            fetch(client, path, shown)
        start.wait()
        t0 = time.perf_counter()
        lat = [fetch(client, path, shown) for _ in range(requests)]
        return t0, time.perf_counter(), lat

    with ThreadPoolExecutor(len(clients)) as pool:
        runs = list(pool.map(one, clients))
    lat = [x for _, _, xs in runs for x in xs]
    span = max(e for _, e, _ in runs) - min(s for s, _, _ in runs)
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {"n": len(lat), "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000,
            "max": max(lat) * 1000, "rps": len(lat) / span}


def after_write(port: int, home: Path, admin: dict, rounds: int, workers: int) -> None:
    """The first board each connection gets after a write: what a user waits while the worker that
    answers brings its open book up to date. ``2 x workers`` signed-in connections (so that every worker
    is reached), each fetching /board/ once after each of ``rounds`` writes; the next fetch too."""
    if rounds <= 0:
        return
    clients = [Client(port) for _ in range(2 * workers)]
    for c in clients:
        c.login(admin["username"], PASSWORD)
        fetch(c, "/board/", admin["shown"])
    run_worker("touch", str(home), str(rounds))  # untimed: a store from before change notes starts with a rebuild
    for c in clients:
        fetch(c, "/board/", admin["shown"])
    first, second = [], []
    for n in range(rounds):
        run_worker("touch", str(home), str(n))
        with ThreadPoolExecutor(len(clients)) as pool:
            first += list(pool.map(lambda c: fetch(c, "/board/", admin["shown"]), clients))
        second += [fetch(c, "/board/", admin["shown"]) for c in clients]
    for c in clients:
        c.close()
    q = lambda xs, p: statistics.quantiles(xs, n=100, method="inclusive")[p - 1] * 1000  # noqa: E731
    print(f"\n== the first admin /board/ after a write ({rounds} writes x {len(clients)} connections) ==\n"
          f"  first request: p50 {q(first, 50):.1f} ms, p95 {q(first, 95):.1f} ms, max {max(first) * 1000:.1f} ms; "
          f"the request after it: p50 {q(second, 50):.1f} ms, max {max(second) * 1000:.1f} ms", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, workers: int = 0) -> subprocess.Popen:
    log = (home / "serve.log").open("w")
    extra = ["--workers", str(workers)] if workers else []
    proc = subprocess.Popen([*BESTBY, "serve", "--host", "127.0.0.1", "--port", str(port), *extra], env=store_env(home),
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bestby serve exited ({proc.returncode}); see {home / 'serve.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.25)
    proc.terminate()
    sys.exit("bestby serve did not answer /healthz within 120 s")


def print_profile(home: Path, username: str, path: str) -> None:
    p = run_worker("profile", str(home), username, path)
    print(f"    profile {path} as {username} (view called in-process, best of 3 warm runs): "
          f"{p['view_ms']:.0f} ms, {p['queries']} queries taking {p['sql_ms']:.0f} ms, "
          f"{p['bytes']:,} bytes of HTML")
    print("      share of the view's time under cProfile: "
          + ", ".join(f"{k} {v:.0%}" for k, v in p["shares"].items()) + "; slowest queries:")
    for q in p["top"]:
        print(f"      {q['ms']:7.1f} ms  {q['sql']}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, *rest = sys.argv[2:]
        work = {"users": worker_users, "touch": worker_touch, "profile": worker_profile}[kind]
        print(json.dumps(work(*rest)))
        return
    from bestby.synth import DEFAULT_AS_OF

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=405_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per client per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per client per page first")
    parser.add_argument("--serial", type=int, default=10,
                        help="first, requests by one client alone (the service time without queueing; 0: skip)")
    parser.add_argument("--pages", default="/board/,/board/?state=stalled,/clearance/")
    parser.add_argument("--users", default="admin,manager")
    parser.add_argument("--as-of", default=DEFAULT_AS_OF.strftime("%Y-%m-%d"),
                        help="the freshness cache's as_of (default: the synth data's as_of)")
    parser.add_argument("--refresh", action="store_true", help="run bestby refresh again even if cached")
    parser.add_argument("--writes", type=int, default=5, help="writes for the 'first board after a write' figures")
    parser.add_argument("--workers", type=int, default=0,
                        help="bestby serve --workers (0: its default, one per core up to 4)")
    parser.add_argument("--profile", action="store_true", help="profile every page, not only those that fail")
    opts = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    as_of = datetime.fromisoformat(opts.as_of).replace(tzinfo=UTC)
    print(f"bench_pages on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.2f}); cache {BENCH_DIR}")

    print("\n== data ==", flush=True)
    home = store_home(opts.deals, opts.seed, as_of, opts.refresh)
    info = run_worker("users", str(home))
    print(f"  open deals in the store: {info['open']:,} (target >= {OPEN_TARGET:,}"
          f"{'' if info['open'] >= OPEN_TARGET else ': NOTE below the target size, raise --deals'}); "
          f"freshness rows: {info['freshness']:,}")
    for label in opts.users.split(","):
        u = info[label]
        print(f"  {label}: {u['username']} ({u['id']}{', team ' + u['team'] if u['team'] else ''}) "
              f"sees {u['open']:,} open deals, {u['listed']:,} on the clearance list")

    from bestby.cli import default_workers

    workers = opts.workers or default_workers()
    port = free_port()
    print(f"\n== {opts.clients} concurrent clients x {opts.requests} requests (after {opts.warmup} warm-up) "
          f"on http://127.0.0.1:{port}/ (bestby serve, {workers} worker process(es) x 8 threads) ==", flush=True)
    server = start_server(home, port, opts.workers)
    # on SIGTERM stop the server too (the client threads would finish their requests before `finally` ran)
    signal.signal(signal.SIGTERM, lambda *_: (server.terminate(), os._exit(143)))
    failed = []
    try:
        print(f"  {'user':<8} {'page':<22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'req/s':>7}  p95 < {TARGET_MS:.0f} ms", flush=True)
        for label in opts.users.split(","):
            username, shown = info[label]["username"], info[label]["shown"]
            clients = [Client(port) for _ in range(opts.clients)]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(opts.clients) as pool:
                list(pool.map(lambda c: c.login(username, PASSWORD), clients))
            login_s = time.perf_counter() - t0
            for path in opts.pages.split(","):
                one = measure(clients[:1], path, shown, opts.serial, opts.warmup) if opts.serial else None
                r = measure(clients, path, shown, opts.requests, opts.warmup)
                ok = r["p95"] < TARGET_MS
                if not ok or opts.profile:
                    failed.append((label, username, path))
                print(f"  {label:<8} {path:<22} {r['n']:>5} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} "
                      f"{r['max']:>8.1f} {r['rps']:>7.1f}  {verdict(ok)}"
                      + (f"   (1 client alone: p50 {one['p50']:.1f} ms, {one['rps']:.1f} req/s)" if one else ""),
                      flush=True)
            for c in clients:
                c.close()
            print(f"  ({label}: {opts.clients} sign-ins in {login_s:.1f} s, not timed above)", flush=True)
        after_write(port, home, info["admin"], opts.writes, workers)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"  load average after: {os.getloadavg()[0]:.2f}")

    if failed:
        print("\n== profile ==", flush=True)
        for label, username, path in failed:
            print_profile(home, username, path)


if __name__ == "__main__":
    main()

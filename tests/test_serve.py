"""`bestby serve --workers N`: N real worker processes on one port, sharing what must be shared.

Runs the real command on its own SQLite file (no test database): the master
starts the workers, every fresh connection is answered, the sign-in throttle
counts failures across workers (its counters are in the database cache), and
SIGTERM stops everything.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

BESTBY = str(Path(sys.executable).with_name("bestby"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _get(port: int, path: str, headers=None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a new connection: any worker may take it
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def _failed_login(port: int) -> int:
    page = _get(port, "/login/")
    cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie")).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1).decode()
    body = urllib.parse.urlencode({"username": "nobody", "password": "wrong-password", "csrfmiddlewaretoken": token})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie}",
        "Referer": f"http://127.0.0.1:{port}/login/"})
    status = conn.getresponse().status
    conn.close()
    return status


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker processes from /proc")
def test_workers_share_the_port_and_the_throttle_and_stop_on_sigterm(tmp_path):
    port = _free_port()
    env = dict(os.environ, BESTBY_HOME=str(tmp_path), BESTBY_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.Popen([BESTBY, "serve", "--port", str(port), "--workers", "2", "--threads", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if _get(port, "/healthz").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no answer within 60 s"
            time.sleep(0.2)
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_children(proc.pid)) == 2
        assert all(_get(port, "/login/").status == 200 for _ in range(8))
        # five failures in all, whichever worker took each one, then the sixth attempt is refused
        statuses = [_failed_login(port) for _ in range(6)]
        assert statuses[:5] == [200] * 5 and statuses[5] == 429
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, out
    assert "2 worker processes x 2 threads" in out


def _database_files_open_by(pid: int, db: Path) -> list[str]:
    """The database's files (the store, its -wal and -shm) that process ``pid`` holds open."""
    names = {str(db), f"{db}-wal", f"{db}-shm"}
    fd_dir = Path(f"/proc/{pid}/fd")
    held = []
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target in names:
            held.append(target)
    return held


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker processes from /proc")
def test_a_killed_worker_is_replaced_the_other_serves_on_and_the_master_holds_no_database_file(tmp_path):
    """After migrate (this process is gunicorn's master) nothing of the database is inherited by the workers; a
    worker killed by SIGKILL is replaced, and the requests of the other worker are not lost."""
    import threading

    port = _free_port()
    db = tmp_path / "serve.sqlite3"
    env = dict(os.environ, BESTBY_HOME=str(tmp_path), BESTBY_DATABASE_URL=f"sqlite:///{db}")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.Popen([BESTBY, "serve", "--port", str(port), "--workers", "2", "--threads", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(_children(proc.pid)) < 2 or not _answers(port):
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "no two workers within 60 s"
            time.sleep(0.2)
        assert all(_get(port, "/login/").status == 200 for _ in range(6))  # both workers have used the database
        assert _database_files_open_by(proc.pid, db) == []
        first = set(_children(proc.pid))
        results, stop = [], threading.Event()

        def client():
            while not stop.is_set():
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                try:
                    conn.request("GET", "/login/")
                    response = conn.getresponse()
                    response.read()
                    results.append(response.status)
                except (OSError, http.client.HTTPException) as exc:  # the killed worker's connections reset
                    results.append(repr(exc))
                finally:
                    conn.close()

        clients = [threading.Thread(target=client) for _ in range(3)]
        for c in clients:
            c.start()
        time.sleep(1)
        victim = sorted(first)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            now = set(_children(proc.pid))
            if len(now) == 2 and victim not in now:
                break
            assert time.monotonic() < deadline, f"the killed worker was not replaced: {now}"
            time.sleep(0.2)
        time.sleep(1)
        stop.set()
        for c in clients:
            c.join(timeout=30)
        failed = [r for r in results if r != 200]
        # at most the requests the killed worker held (its 2 threads; a client's connection to it), none after
        assert len(failed) <= 3, failed
        assert len(results) > 20
        assert all(_get(port, "/login/").status == 200 for _ in range(6))
        assert _database_files_open_by(proc.pid, db) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, out


def _answers(port: int) -> bool:
    try:
        return _get(port, "/healthz").status == 200
    except OSError:
        return False

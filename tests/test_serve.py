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

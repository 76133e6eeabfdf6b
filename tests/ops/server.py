"""A real `bestby serve` in a subprocess, on its own SQLite store and a free port above 8100."""

from __future__ import annotations

import http.client
import os
import random
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port above 8100 that nothing listens on (port 8000 belongs to `make demo`)."""
    for _ in range(100):
        port = random.randint(8101, 9999)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port above 8100")


def get(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


@contextmanager
def serving(home: Path, *, workers: int = 1, env: dict | None = None, settings: str = "bestby.settings"):
    """Run `bestby serve --workers N` until the block ends; yields (port, process). Its stderr is in
    ``process.stderr_text`` after the block (the server is stopped with SIGTERM, by its own pid)."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("BESTBY_") and k != "DJANGO_SETTINGS_MODULE"}
    full_env.update({"BESTBY_HOME": str(home), "DJANGO_SETTINGS_MODULE": settings,
                     "PYTHONPATH": str(REPO), **(env or {})})
    err_path = home.parent / f"serve-{port}.stderr"
    home.mkdir(parents=True, exist_ok=True)
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bestby.cli", "serve", "--port", str(port),
                                 "--workers", str(workers), "--threads", "2"],
                                cwd=REPO, env=full_env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 180  # the first start migrates a fresh store
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"bestby serve exited with {proc.returncode}:\n{err_path.read_text()}")
            try:
                if get(port, "/healthz").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"bestby serve did not answer on port {port}:\n{err_path.read_text()}")
            time.sleep(0.3)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr_text = err_path.read_text()

"""Login throttling: 5 failures per username or per address in 15 minutes, then 429 with the wait."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.test import Client

from bestby.people.models import User
from bestby.web import throttle

pytestmark = pytest.mark.django_db
PW = "x-long-password-1"


@pytest.fixture(autouse=True)
def users():
    User.objects.create_user(username="rep", password=PW, external_id="rep-t", role="rep")
    User.objects.create_user(username="rep2", password=PW, external_id="rep2-t", role="rep")


def _try(client, username, password, ip="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_then_429_even_with_the_right_password(client):
    for _ in range(5):
        assert _try(client, "rep", "wrong").status_code == 200
    response = _try(client, "rep", PW)
    assert response.status_code == 429
    assert "Try again in 15 minutes" in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session


def test_username_counter_applies_from_any_address(client):
    for i in range(5):
        _try(client, "rep", "wrong", ip=f"10.0.1.{i}")
    assert _try(client, "rep", PW, ip="10.9.9.9").status_code == 429
    assert _try(client, "rep2", PW, ip="10.9.9.9").status_code == 302  # another name from a fresh address


def test_address_counter_applies_to_any_username(client):
    for i in range(5):
        _try(client, f"nobody{i}", "wrong", ip="10.0.2.1")
    assert _try(client, "rep", PW, ip="10.0.2.1").status_code == 429
    assert _try(client, "rep", PW, ip="10.0.2.2").status_code == 302


def test_success_clears_the_username_counter(client):
    for _ in range(4):
        _try(client, "rep", "wrong")
    assert _try(client, "rep", PW).status_code == 302
    client.logout()
    for _ in range(4):
        assert _try(client, "rep", "wrong", ip="10.0.3.1").status_code == 200
    assert _try(client, "rep", PW, ip="10.0.3.1").status_code == 302  # 4 new failures: not yet 5


def test_window_expires():
    t0 = 1_000_000.0
    for _ in range(5):
        throttle.record_failure("rep", "10.0.4.1", now=t0)
    assert throttle.retry_after("rep", "10.0.4.1", now=t0 + 60) == 14 * 60
    assert throttle.retry_after("rep", "10.0.4.1", now=t0 + 15 * 60) == 0
    throttle.record_failure("rep", "10.0.4.1", now=t0 + 15 * 60)  # a new window starts with 1
    assert throttle.retry_after("rep", "10.0.4.1", now=t0 + 15 * 60) == 0



def test_a_refused_address_adds_no_counters_and_ended_windows_are_deleted():
    from bestby.web.models import LoginCounter

    t0 = 2_000_000.0
    for i in range(5):
        assert throttle.reserve(f"name{i}", "10.0.6.1", now=t0) == 0
    assert LoginCounter.objects.count() == 6  # the address and five names
    for i in range(5, 25):  # refused: the address is at its limit; no counter for the twenty new names
        assert throttle.reserve(f"name{i}", "10.0.6.1", now=t0 + 1) == 15 * 60 - 1
    assert LoginCounter.objects.count() == 6
    assert throttle.reserve("name0", "10.0.6.2", now=t0 + 15 * 60) == 0  # every earlier window has ended
    assert sorted(LoginCounter.objects.values_list("count", flat=True)) == [1, 1]


# ---------------------------------------------------------------- parallel guesses (the security review's race)

GUESSES = 30


def _parallel(guess, n: int = GUESSES) -> list:
    """Run ``guess(i)`` on ``n`` threads released together; each thread closes its own database connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = guess(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a guess did not finish within 5 minutes"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return results


@pytest.mark.django_db(transaction=True)
def test_thirty_parallel_guesses_have_at_most_five_passwords_checked():
    """Thirty wrong guesses sent at once, each on its own connection: five are checked, the rest refused.

    "Checked" is counted by Django's own ``user_login_failed`` signal, which
    ``authenticate()`` sends after it has run the password hasher and found
    the password wrong: a count made outside the throttle.
    """
    checked = []
    lock = threading.Lock()

    def on_failed(sender, credentials, request=None, **kwargs):
        with lock:
            checked.append(credentials.get("username"))

    user_login_failed.connect(on_failed, dispatch_uid="test-throttle-count")
    try:
        statuses = _parallel(lambda i: _try(Client(), "rep", f"wrong-{i}", ip="10.0.5.1").status_code)
    finally:
        user_login_failed.disconnect(dispatch_uid="test-throttle-count")
    assert len(checked) == 5, (len(checked), sorted(statuses))
    assert sorted(statuses) == [200] * 5 + [429] * (GUESSES - 5)
    # and the window is closed for the right password too, from a fresh address (the username's count is 5)
    assert _try(Client(), "rep", PW, ip="10.0.5.2").status_code == 429


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    """The URL of the test database this test runs on (a real file on SQLite, a real server's on PostgreSQL)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{urllib.parse.quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _http(port: int, method: str, path: str, body: str = "", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Set-Cookie") or "", response.read()
    finally:
        conn.close()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="gunicorn's workers need a POSIX system")
@pytest.mark.django_db(transaction=True)
def test_thirty_parallel_guesses_across_worker_processes(tmp_path):
    """The same race against ``bestby serve`` with two worker processes on this test's database.

    Each guess is a real sign-in (its own CSRF cookie and token) on a new
    connection, so either worker may take it; all thirty are released at once.
    A response of 200 is a password checked and found wrong; 429 a refusal
    before any check.
    """
    port = _free_port()
    env = dict(os.environ, BESTBY_HOME=str(tmp_path), BESTBY_DATABASE_URL=_database_url())
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.Popen([str(Path(sys.executable).with_name("bestby")), "serve", "--port", str(port),
                             "--workers", "2", "--threads", "8"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if _http(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not answer within 90 s"
            time.sleep(0.2)
        forms = []
        for _ in range(GUESSES):  # a CSRF cookie and token per guess, fetched before the guesses start
            status, cookie, body = _http(port, "GET", "/login/")
            assert status == 200
            forms.append((re.search(r"csrftoken=([^;]+)", cookie).group(1),
                          re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()))

        def guess(i: int) -> int:
            cookie, token = forms[i]
            body = urllib.parse.urlencode({"username": "rep", "password": f"wrong-{i}",
                                           "csrfmiddlewaretoken": token})
            return _http(port, "POST", "/login/", body, {
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie}",
                "Referer": f"http://127.0.0.1:{port}/login/"})[0]

        statuses = _parallel(guess)
        assert sorted(statuses) == [200] * 5 + [429] * (GUESSES - 5)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()

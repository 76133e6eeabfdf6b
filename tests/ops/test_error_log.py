"""Operators see errors: a 500 under the real `bestby serve` (one gunicorn worker, and two)
is logged with its traceback on the server's standard error and in BESTBY_LOG_FILE (0600) when set."""

import stat

import pytest

from tests.ops.raising_urls import MESSAGE
from tests.ops.server import get, serving

SETTINGS = "tests.ops.raising_settings"


@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])
def test_a_500_is_logged_with_its_traceback_on_stderr(tmp_path, workers):
    with serving(tmp_path / "home", workers=workers, settings=SETTINGS) as (port, proc):
        response = get(port, "/boom/")
        assert response.status == 500
        assert MESSAGE.encode() not in response.body  # the visitor sees no traceback (DEBUG is off)
    log = proc.stderr_text
    assert "ERROR django.request" in log and "Internal Server Error: /boom/" in log
    assert "Traceback (most recent call last)" in log and f"RuntimeError: {MESSAGE}" in log
    assert 'raise RuntimeError(MESSAGE)' in log  # the line that raised, from the traceback


def test_bestby_log_file_receives_the_traceback_too_and_is_private(tmp_path):
    log_file = tmp_path / "logs" / "bestby.log"
    with serving(tmp_path / "home", settings=SETTINGS, env={"BESTBY_LOG_FILE": str(log_file)}) as (port, proc):
        assert get(port, "/boom/").status == 500
        assert get(port, "/login/").status == 200  # a page that works logs nothing
    text = log_file.read_text()
    assert text.count("Internal Server Error: /boom/") == 1 and f"RuntimeError: {MESSAGE}" in text
    assert "Traceback (most recent call last)" in text and "/login/" not in text
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert f"RuntimeError: {MESSAGE}" in proc.stderr_text  # and stderr still has it

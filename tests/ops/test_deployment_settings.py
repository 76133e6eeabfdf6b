"""Settings for a real deployment, read from the environment by the real settings loader in a fresh process:
BESTBY_HTTPS (Secure cookies, HSTS, the redirect to HTTPS), BESTBY_PROXY_SSL_HEADER, bad values named; and the
same settings at work in a real `bestby serve`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.server import get, serving

REPO = Path(__file__).resolve().parents[2]
NAMES = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
         "SECURE_PROXY_SSL_HEADER", "BESTBY_MAX_UPLOAD_BYTES", "BESTBY_MAX_IMPORT_BYTES")


def _env(tmp_path, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BESTBY_") and k != "DJANGO_SETTINGS_MODULE"}
    return env | {"BESTBY_HOME": str(tmp_path / "home"), "DJANGO_SETTINGS_MODULE": "bestby.settings"} | extra


def loaded(tmp_path, **extra) -> dict:
    """The settings as a fresh process loads them with ``extra`` in its environment."""
    code = ("import json, django; django.setup(); from django.conf import settings; "
            f"print(json.dumps({{n: getattr(settings, n) for n in {NAMES!r}}}))")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path, extra), cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_defaults_are_for_a_laptop_on_plain_http(tmp_path):
    assert loaded(tmp_path) == {
        "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False, "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0, "SECURE_PROXY_SSL_HEADER": None,
        "BESTBY_MAX_UPLOAD_BYTES": 500 * 1024 * 1024, "BESTBY_MAX_IMPORT_BYTES": 2048 * 1024 * 1024}


def test_https_turns_on_secure_cookies_hsts_and_the_redirect(tmp_path):
    got = loaded(tmp_path, BESTBY_HTTPS="1", BESTBY_PROXY_SSL_HEADER="X-Forwarded-Proto",
                 BESTBY_MAX_UPLOAD_MB="20", BESTBY_MAX_IMPORT_MB="30")
    assert got == {
        "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600, "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "BESTBY_MAX_UPLOAD_BYTES": 20 * 1024 * 1024, "BESTBY_MAX_IMPORT_BYTES": 30 * 1024 * 1024}
    got = loaded(tmp_path, BESTBY_HTTPS="yes", BESTBY_HSTS_SECONDS="3600", BESTBY_PROXY_SSL_HEADER="X-Forwarded-Ssl=on")
    assert (got["SECURE_HSTS_SECONDS"], got["SECURE_PROXY_SSL_HEADER"]) == (3600, ["HTTP_X_FORWARDED_SSL", "on"])


def _deploy_warnings(tmp_path, **extra) -> set[str]:
    proc = subprocess.run([sys.executable, "-m", "django", "check", "--deploy"], env=_env(tmp_path, extra),
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    return set(re.findall(r"\(security\.(W\d+)\)", proc.stdout + proc.stderr))


def test_djangos_deployment_check_finds_the_tls_settings_only_with_https(tmp_path):
    tls = {"W004", "W008", "W012", "W016"}  # HSTS, SSL redirect, Secure session cookie, Secure CSRF cookie
    assert tls <= _deploy_warnings(tmp_path)  # on plain HTTP Django warns of each: the check can fail
    assert not tls & _deploy_warnings(tmp_path, BESTBY_HTTPS="1")


@pytest.mark.parametrize(("var", "value"), [("BESTBY_HTTPS", "maybe"), ("BESTBY_HSTS_SECONDS", "-1"),
                                            ("BESTBY_HSTS_SECONDS", "a year"),
                                            ("BESTBY_PROXY_SSL_HEADER", "X Forwarded Proto"),
                                            ("BESTBY_MAX_UPLOAD_MB", "0"), ("BESTBY_MAX_IMPORT_MB", "1.5")])
def test_a_bad_value_is_refused_with_the_variable_named(tmp_path, var, value):
    proc = subprocess.run([sys.executable, "-m", "bestby.cli", "migrate"], env=_env(tmp_path, {var: value}),
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"Configuration error: {var}={value!r}" in " ".join(proc.stderr.split())
    assert not (tmp_path / "home" / "bestby.sqlite3").exists()  # refused before the store was created


@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])
def test_a_real_server_behind_a_tls_proxy(tmp_path, workers):
    env = {"BESTBY_HTTPS": "1", "BESTBY_PROXY_SSL_HEADER": "X-Forwarded-Proto"}
    with serving(tmp_path / "home", env=env, workers=workers) as (port, _proc):
        plain = get(port, "/login/")
        assert plain.status == 301 and plain.getheader("Location") == f"https://127.0.0.1:{port}/login/"
        assert get(port, "/healthz").status == 200  # a load balancer's plain probe is answered, not redirected
        secure = get(port, "/login/", {"X-Forwarded-Proto": "https"})
        assert secure.status == 200
        assert secure.getheader("Strict-Transport-Security") == "max-age=31536000"
        cookie = secure.getheader("Set-Cookie")
        assert cookie.startswith("csrftoken=") and "; Secure" in cookie and "HttpOnly" in cookie

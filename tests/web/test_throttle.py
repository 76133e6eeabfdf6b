"""Login throttling: 5 failures per username or per address in 15 minutes, then 429 with the wait."""

import pytest
from django.core.cache import cache

from bestby.people.models import User
from bestby.web import throttle

pytestmark = pytest.mark.django_db
PW = "x-long-password-1"


@pytest.fixture(autouse=True)
def users():
    cache.clear()
    User.objects.create_user(username="rep", password=PW, external_id="rep-t", role="rep")
    User.objects.create_user(username="rep2", password=PW, external_id="rep2-t", role="rep")
    yield
    cache.clear()


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

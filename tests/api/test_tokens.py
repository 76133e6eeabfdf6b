"""Tokens: shown once, stored as a SHA-256 digest, revocable; requests without a valid one get 401 JSON."""

from __future__ import annotations

import hashlib
import re

import pytest
from typer.testing import CliRunner

from bestby.api.models import ApiToken
from bestby.api.tokens import create_token, revoke
from bestby.cli import app
from tests.api.conftest import Api, make_world

runner = CliRunner()


def test_stored_digest_is_not_the_token_and_revoking_refuses_it(world):
    rita = world["users"]["rep"]
    row, secret = create_token(user=rita, name="laptop")
    stored = ApiToken.objects.get(pk=row.pk)
    assert secret.startswith("bb_") and len(secret) > 40
    assert stored.digest == hashlib.sha256(secret.encode()).hexdigest() != secret
    assert secret not in str(list(ApiToken.objects.values()))  # the secret is stored nowhere
    assert stored.prefix == secret[:8]
    client = Api(secret)
    assert client.get("/api/deals").status_code == 200
    assert ApiToken.objects.get(pk=row.pk).last_used_at is not None
    revoke(stored.prefix)
    response = client.get("/api/deals")
    assert response.status_code == 401
    assert response.json()["field"] == "Authorization"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer bb_not-a-token", "Token abc", "Bearer " + "x" * 50])
def test_missing_or_wrong_token_is_401_json(world, header):
    from django.test import Client

    response = Client(HTTP_AUTHORIZATION=header).get("/api/deals")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json") and "detail" in response.json()


def test_an_inactive_users_token_is_refused(world):
    client = world["api"]["rep"]
    assert client.get("/api/deals").status_code == 200
    rita = world["users"]["rep"]
    rita.is_active = False
    rita.save()
    assert client.get("/api/deals").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_token_commands_create_list_revoke():
    make_world()
    result = runner.invoke(app, ["token", "create", "rita@example.com", "--name", "ci"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert re.fullmatch(r"bb_[A-Za-z0-9_-]{40,}", secret)
    assert "shown only this once" in result.stderr
    row = ApiToken.objects.get(name="ci")
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()

    listed = runner.invoke(app, ["token", "list", "--user", "rita"])
    assert listed.exit_code == 0 and row.prefix in listed.stdout and secret not in listed.stdout

    gone = runner.invoke(app, ["token", "revoke", "bb_nope"])
    assert gone.exit_code == 2 and "PREFIX" in gone.stderr and ApiToken.objects.filter(revoked_at__isnull=False).count() == 0
    assert runner.invoke(app, ["token", "create", "nobody@example.com", "--name", "x"]).exit_code == 2

    done = runner.invoke(app, ["token", "revoke", row.prefix])
    assert done.exit_code == 0, done.output
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None
    assert Api(secret).get("/api/deals").status_code == 401

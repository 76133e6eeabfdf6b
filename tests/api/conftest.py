"""A small world for the API tests: one pipeline, team A (a manager and a rep), team B (a rep), an admin, deals.

The API tests mount only the API's URLs (``tests.api.urls``) so that they do
not depend on the pages' URL configuration.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from django.test import Client

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.api.tokens import create_token
from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import Pipeline, Stage

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _api_urls(settings):
    settings.ROOT_URLCONF = "tests.api.urls"


class Api:
    """A test client that sends one user's token, and JSON bodies."""

    def __init__(self, token: str | None) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}" if token else "")
        self.token = token

    def get(self, url, **params):
        return self.client.get(url, params)

    def post(self, url, body=None):
        return self.client.post(url, json.dumps(body or {}), content_type="application/json")

    def patch(self, url, body):
        return self.client.patch(url, json.dumps(body), content_type="application/json")


def make_world() -> dict:
    p = Pipeline.objects.create(name="default")
    s = {name: Stage.objects.create(pipeline=p, name=name, position=i, kind=kind)
         for i, (name, kind) in enumerate([("Qualify", "open"), ("Proposal", "open"), ("Won", "won"),
                                            ("Lost", "lost")], start=1)}
    mk = User.objects.create_user
    admin = mk(username="ada@example.com", email="ada@example.com", external_id="ada", role="admin")
    mgr = mk(username="max@example.com", email="max@example.com", external_id="max", role="manager", team="A")
    rep = mk(username="rita@example.com", email="rita@example.com", external_id="rita", role="rep", team="A",
             manager=mgr)
    other = mk(username="otto@example.com", email="otto@example.com", external_id="otto", role="rep", team="B")
    acme = Account.objects.create(external_id="acme", name="Acme")
    globex = Account.objects.create(external_id="globex", name="Globex")
    Contact.objects.create(external_id="c-acme", account=acme, name="Ann Acme", email="ann@acme.test")
    Contact.objects.create(external_id="c-globex", account=globex, name="Gus Globex")
    deals = {}
    for ext, owner, stage, amount, account in [("D1", rep, "Qualify", "100", acme), ("D2", rep, "Proposal", "700", acme),
                                               ("D3", mgr, "Qualify", "50", None),
                                               ("D9", other, "Proposal", "9000", globex)]:
        deals[ext] = services.create_deal(external_id=ext, pipeline=p, stage=s["Qualify"], owner=owner,
                                          amount=Decimal(amount), account=account, close_date=date(2025, 3, 31),
                                          name=f"Deal {ext}", at=T0)
        if stage != "Qualify":
            deals[ext] = services.move_deal(deal=deals[ext], to_stage=s[stage], at=datetime(2025, 1, 20, tzinfo=timezone.utc))
    Touch.objects.create(external_id="t1", at=T0, channel="phone", owner=rep, deal=deals["D1"], account=acme)
    Touch.objects.create(external_id="t9", at=T0, channel="email", owner=other, deal=deals["D9"], account=globex)
    users = {"admin": admin, "mgr": mgr, "rep": rep, "other": other}
    return {"pipeline": p, "stages": s, "users": users, "deals": deals,
            "api": {k: Api(create_token(user=u, name="tests")[1]) for k, u in users.items()}}


@pytest.fixture
def world(db) -> dict:
    return make_world()

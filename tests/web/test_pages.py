"""Pages through Django's test client: sign-in required, the pipeline by stage, the admin."""

import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import Pipeline, Stage

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)


@pytest.fixture
def workspace():
    p = Pipeline.objects.create(name="default")
    q = Stage.objects.create(pipeline=p, name="Qualify", position=1)
    pr = Stage.objects.create(pipeline=p, name="Proposal", position=2)
    Stage.objects.create(pipeline=p, name="Won", position=3, kind="won")
    mgr = User.objects.create_user(username="mgr", password="x-long-password-1", external_id="mgr", role="manager", team="A")
    rep = User.objects.create_user(username="rep", password="x-long-password-1", external_id="rep", role="rep", team="A", manager=mgr)
    other = User.objects.create_user(username="oth", password="x-long-password-1", external_id="oth", role="rep", team="B")
    services.create_deal(external_id="D1", pipeline=p, stage=q, owner=rep, amount=Decimal("1000"), at=T0)
    services.create_deal(external_id="D2", pipeline=p, stage=q, owner=rep, amount=Decimal("500"), at=T0)
    services.create_deal(external_id="D3", pipeline=p, stage=pr, owner=other, amount=Decimal("7000"), at=T0)
    return mgr, rep, other


def _row(html: str, stage: str) -> list[str]:
    row = re.search(rf'<tr data-stage="{stage}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_home_requires_sign_in(client, workspace):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_rep_sees_only_own_deals_by_stage(client, workspace):
    client.login(username="rep", password="x-long-password-1")
    html = client.get("/").content.decode()
    assert _row(html, "Qualify")[2:4] == ["2", "1,500 USD"]
    assert _row(html, "Proposal")[2:4] == ["0", "0 USD"]


def test_admin_sees_all_deals(client, workspace):
    User.objects.create_superuser(username="root", password="x-long-password-1", external_id="root", role="admin")
    client.login(username="root", password="x-long-password-1")
    html = client.get("/").content.decode()
    assert _row(html, "Proposal")[2:4] == ["1", "7,000 USD"]
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/pipeline/deal/").status_code == 200


def test_login_form_is_csrf_protected(workspace):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"username": "rep", "password": "x-long-password-1"})
    assert response.status_code == 403

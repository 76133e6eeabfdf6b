"""Shelf life page: the engine's best-by per stage drawn on an inline SVG, for signed-in users."""

import re
from datetime import UTC, datetime

import numpy as np
import pytest

from bestby.engine.shelf_life import forward_visits_expr, shelf_life
from bestby.importers.canonical import import_canonical
from bestby.people.models import User
from bestby.pipeline.analytics import store_source
from bestby.synth import write_synth
from bestby.web.views_shelf import histogram_svg

PW = "x-long-password-1"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the page's "now" (frozen): days after the synth data ends


def _rows(html: str) -> list[tuple[str, str, float | None, int]]:
    """(pipeline, stage, best-by marker days or None, markers in the row) for each table row."""
    out = []
    for section in re.finditer(r'<section class="pipeline shelf" data-pipeline="([^"]+)">(.*?)</section>', html, re.S):
        for row in re.finditer(r'<tr data-stage="([^"]+)" data-segment="[^"]*">(.*?)</tr>', section.group(2), re.S):
            marks = re.findall(r'data-best-by="([0-9.]+)"', row.group(2))
            out.append((section.group(1), row.group(1), float(marks[0]) if marks else None, len(marks)))
    return out


@pytest.mark.django_db(transaction=True)
def test_page_shows_the_engines_best_by_per_stage(client, tmp_path, frozen_clock):
    frozen_clock(NOW)
    write_synth(tmp_path, deals=300, seed=5)
    import_canonical(tmp_path)
    User.objects.create_user(username="viewer", password=PW, external_id="viewer-x", role="rep")
    client.login(username="viewer", password=PW)
    response = client.get("/shelf-life/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 2 and "<script" not in html.split("<main>")[1]
    tables = store_source(NOW)
    expected = {(r["pipeline"], r["stage"] or "(whole cycle)"): r for r in shelf_life(tables, q=0.8)}
    shown = _rows(html)
    assert {(p, s) for p, s, _, _ in shown} == set(expected)
    for pipeline, stage, marker, count in shown:
        engine = expected[(pipeline, stage)]
        if engine["days"] is None:
            assert count == 0
        else:
            assert count == 1 and marker == pytest.approx(engine["days"], abs=5e-4)
    some = [r for r in expected.values() if r["stage"] and r["n"] > 0]
    assert some, "the synth data has stage visits"
    # the distribution drawn is the one the figure is the quantile of
    visits = forward_visits_expr(tables).execute()
    r = some[0]
    days = visits[(visits.pipeline == r["pipeline"]) & (visits.stage == r["stage"])]["days"].to_numpy(dtype=float)
    assert len(days) == r["n"] and np.quantile(days, 0.8) == pytest.approx(r["days"])
    # another quantile moves the markers
    html9 = client.get("/shelf-life/?q=0.9").content.decode()
    nine = {(p, s): m for p, s, m, _ in _rows(html9)}
    assert nine[(r["pipeline"], r["stage"])] == pytest.approx(np.quantile(days, 0.9), abs=5e-4)
    # a segment view has a row per segment value
    seg = client.get("/shelf-life/?by=source").content.decode()
    assert len(_rows(seg)) > len(shown)


@pytest.mark.django_db
def test_sign_in_required_and_bad_quantile_names_the_field(client):
    assert client.get("/shelf-life/").status_code == 302
    User.objects.create_user(username="viewer", password=PW, external_id="viewer-x", role="rep")
    client.login(username="viewer", password=PW)
    response = client.get("/shelf-life/?q=7")
    assert response.status_code == 400 and "q: must be a number in (0, 1]" in response.content.decode()
    response = client.get("/shelf-life/?by=shoe")
    assert response.status_code == 400 and "by: must be one of" in response.content.decode()


def test_histogram_marks_the_best_by_where_it_belongs():
    svg = histogram_svg(np.array([1.0, 2.0, 3.0, 10.0]), 8.0, label="x")
    assert svg.count('class="best-by"') == 1 and 'data-best-by="8.0000"' in svg
    x = float(re.search(r'class="best-by" data-best-by="[^"]+" x1="([0-9.]+)"', svg).group(1))
    assert 8 + (640 - 16) * 8 / 10 == pytest.approx(x, abs=0.1)  # top = max(q98, 1.25 x best-by) = 10
    empty = histogram_svg(np.array([]), None, label="none")
    assert "best-by" not in empty and "<rect" not in empty


def _segments(html: str) -> set[str]:
    return set(re.findall(r'<tr data-stage="[^"]+" data-segment="([^"]+)">', html))


@pytest.mark.django_db(transaction=True)
def test_owner_and_team_segments_are_cut_to_what_the_user_may_see_as_in_the_api(client, tmp_path):
    """A rep sees their own seller segment and their team's; a manager their team's sellers; an admin all."""
    from bestby.api.tokens import create_token

    write_synth(tmp_path, deals=300, seed=5)
    import_canonical(tmp_path)
    reps = list(User.objects.filter(role="rep").order_by("external_id"))
    assert len(reps) >= 3
    User.objects.filter(pk=reps[2].pk).update(team="Elsewhere")  # a second team
    rep, manager = reps[0], User.objects.get(role="manager", team=reps[0].team)
    admin = User.objects.filter(role="admin").first()
    everyone = {u.external_id for u in User.objects.all()}
    expected = {  # worked out from the users' rows, not from the access rules
        (rep, "owner"): {rep.external_id},
        (rep, "team"): {rep.team},
        (manager, "owner"): {u.external_id for u in User.objects.filter(team=manager.team)} | {
            u.external_id for u in User.objects.filter(manager=manager)},
        (manager, "team"): {manager.team},
    }
    for user in (rep, manager, admin):
        user.set_password(PW)
        user.save()
    for (user, by), segments in expected.items():
        client.login(username=user.username, password=PW)
        page = _segments(client.get(f"/shelf-life/?by={by}").content.decode())
        assert page and page <= segments, (user.external_id, by, page, segments)
        token = create_token(user=user, name="t")[1]
        api = client.get(f"/api/shelf-life?by={by}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
        assert {r["segment"] for r in api if r["segment"] is not None} == page
        client.logout()
    client.login(username=admin.username, password=PW)
    owners = _segments(client.get("/shelf-life/?by=owner").content.decode())
    assert {r.external_id for r in reps} <= owners <= everyone | {"(none)"}
    assert _segments(client.get("/shelf-life/?by=team").content.decode()) >= {rep.team, "Elsewhere"}

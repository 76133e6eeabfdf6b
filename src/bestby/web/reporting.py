"""What the report pages share: reading their query parameters into errors, naming rows, the 400 on bad input.

The pages (forecast, coverage, funnel, backtest) are thin adapters over
:mod:`bestby.goals.reports`: they read the query string with
:mod:`bestby.goals.params`, cut the document to what the user may see with
:mod:`bestby.goals.scope`, and render. A bad parameter re-renders the page's
form with the error naming it, status 400, and computes nothing.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from django.shortcuts import render

from bestby import clock
from bestby.goals.params import ParamError
from bestby.people.models import User

T = TypeVar("T")


class Params:
    """Collects parsed values and the errors of those that failed (each one ``"field: why"``)."""

    def __init__(self, request) -> None:
        self.query = request.GET
        self.errors: list[str] = []
        self.fields: set[str] = set()
        self.now = clock.now().replace(microsecond=0)

    def raw(self, name: str) -> str:
        return self.query.get(name, "").strip()

    def read(self, parse: Callable[..., T], *args, fallback: T = None, **kwargs) -> T:
        """``parse(*args, **kwargs)``, or ``fallback`` after noting its ParamError."""
        try:
            return parse(*args, **kwargs)
        except ParamError as exc:
            self.errors.append(str(exc))
            self.fields.add(exc.field)
            return fallback


def render_report(request, template: str, context: dict, params: Params):
    """Render ``template`` with the form's values and errors (status 400 when any)."""
    context = {**context, "errors": params.errors, "error_fields": sorted(params.fields),
               "q": {k: params.raw(k) for k in params.query}}
    return render(request, template, context, status=400 if params.errors else 200)


def owner_names(keys) -> dict[str, str]:
    """External id -> how a person is named on pages, for the given owner ids."""
    rows = User.objects.filter(external_id__in=list(keys)).values_list("external_id", "name", "email")
    return {ext: User.display(name, email, ext) for ext, name, email in rows}


def label_rows(rows: list[dict], names: dict[str, str]) -> list[dict]:
    """Each row with ``label`` (a person's name for an owner row, "team X", the pipeline, "Workspace")."""
    out = []
    for r in rows:
        level, key = r.get("level", "all"), r.get("key")
        if level == "all":
            label = "Workspace"
        elif level == "owner":
            label = names.get(key, key)
        elif level == "team":
            label = f"Team {key}"
        else:
            label = f"Pipeline {key}"
        out.append({**r, "level": level, "key": key or "all", "label": label})
    return out


def workspace_row(doc: dict) -> dict:
    """The document's top level as a row (level ``all``)."""
    return {**{k: v for k, v in doc.items() if k not in ("groups", "deals")}, "level": "all", "key": "all"}

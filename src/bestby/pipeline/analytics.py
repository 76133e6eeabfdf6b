"""The store as an analytics source: Django's database bound as Ibis tables (thin adapter).

The engine knows no Django; this module hands it a connection to the same
database Django uses and the physical table names of the models. See
:mod:`bestby.engine.store` for what comes back and how each backend runs.
"""

from __future__ import annotations

from datetime import datetime

import ibis
from django.db import connection

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Lead, Touch
from bestby.clearance.models import StageEventVoid
from bestby.commerce.models import Product
from bestby.engine.store import store_tables
from bestby.goals.models import Quota
from bestby.people.models import User
from bestby.pipeline.models import CloseDateEvent, Deal, Pipeline, Stage, StageEvent

MODELS = {
    "deals": Deal, "stages": Stage, "pipelines": Pipeline, "stage_events": StageEvent,
    "close_date_events": CloseDateEvent, "touches": Touch, "users": User,
    "accounts": Account, "products": Product, "leads": Lead, "contacts": Contact,
    "stage_event_voids": StageEventVoid, "quotas": Quota,
}


def table_names() -> dict[str, str]:
    """Map the engine's table names to the models' physical tables."""
    return {name: model._meta.db_table for name, model in MODELS.items()}


def store_connection() -> ibis.BaseBackend:
    """Open an Ibis connection to the database Django uses (a second connection: only committed data)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return ibis.sqlite.connect(str(s["NAME"]))
    if connection.vendor == "postgresql":
        params = {"host": s.get("HOST"), "port": int(s["PORT"]) if s.get("PORT") else None,
                  "user": s.get("USER"), "password": s.get("PASSWORD"), "database": s["NAME"]}
        return ibis.postgres.connect(**{k: v for k, v in params.items() if v})
    raise NotImplementedError(f"no analytics backend for a {connection.vendor} store")


def store_source(as_of: datetime, *, con: ibis.BaseBackend | None = None) -> dict[str, ibis.Table]:
    """Bind the store's tables as Ibis tables known at ``as_of``."""
    path = str(connection.settings_dict["NAME"]) if connection.vendor == "sqlite" else None
    return store_tables(con if con is not None else store_connection(), table_names(), as_of=as_of,
                        sqlite_path=path)

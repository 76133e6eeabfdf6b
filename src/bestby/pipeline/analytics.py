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
from bestby.engine.store import StoreReader
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


def store_reader() -> StoreReader:
    """One read of the database Django uses, for the engine (a connection of its own: only committed data).

    On SQLite the reader works on a private copy taken now through Python's
    ``sqlite3`` (never DuckDB on the live file: see :mod:`bestby.engine.store`);
    on PostgreSQL it is an Ibis connection. Use it as a context manager, or
    call ``close()``, so the copy is deleted as soon as the analysis is done.
    """
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return StoreReader(table_names(), sqlite_path=str(s["NAME"]))
    if connection.vendor == "postgresql":
        params = {"host": s.get("HOST"), "port": int(s["PORT"]) if s.get("PORT") else None,
                  "user": s.get("USER"), "password": s.get("PASSWORD"), "database": s["NAME"]}
        return StoreReader(table_names(), con=ibis.postgres.connect(**{k: v for k, v in params.items() if v}))
    raise NotImplementedError(f"no analytics backend for a {connection.vendor} store")


def store_source(as_of: datetime, *, store: StoreReader | None = None) -> dict[str, ibis.Table]:
    """Bind the store's tables as Ibis tables known at ``as_of`` (through ``store``, or a new reader).

    Without ``store`` the new reader lives as long as the returned tables (its
    SQLite copy is deleted when they are garbage collected): fine for one
    analysis in a short-lived process; long-lived callers pass a reader they
    close.
    """
    return (store or store_reader()).tables(as_of)

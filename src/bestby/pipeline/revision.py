"""A token that changes with every write of the open deals' board data, so in-process read models know when to rebuild.

The pages that read every open deal (board totals, clearance order) keep a
compact copy in memory (:mod:`bestby.clearance.openbook`) and must know, in
one cheap query, whether it is still true. ``Revision`` holds one row per
topic; :func:`bump` gives it a new random token inside the writer's
transaction, so the token and the data it stands for commit (or roll back)
together.

Why a random token and not a count: a count can come back. A reader inside an
uncommitted transaction sees count n+1 with that transaction's data; if it
rolls back, the next committed write is n+1 again with other data, and a
cache labelled n+1 would be served wrongly. A token that was never committed
is never seen again.

What changes the ``open-deals`` token:

* any ``save()`` or ``delete()`` of a :class:`~bestby.pipeline.models.Deal`,
  a ``Stage`` or a ``Pipeline`` (signals: services, the API, the admin site
  and tests alike);
* any ``save()`` of a :class:`~bestby.clearance.models.Freshness` row;
* bulk writes that bypass signals call :func:`changed` themselves: the
  importers' bulk loader (:mod:`bestby.importers.bulk`) and the freshness
  refresh (:func:`bestby.clearance.snapshot.refresh`).

Each change of the ``open-deals`` token also writes a
:class:`~bestby.pipeline.models.DealChange` note in the same transaction: the
deal's key for a single deal's write, None for a bulk write or a stage or
pipeline change. Readers that keep a copy update just the deals named by the
notes they have not yet applied (see :mod:`bestby.clearance.openbook`), and
rebuild on a None note.

The ``people`` token changes with any ``save()`` of a user (names shown on
cards, teams; a sign-in saves ``last_login`` too, which only costs cached
page parts, not the open book).

A reader must read the counter *before* the rows it caches: a write that
commits in between then leaves the cache labelled with the older count, and
the next read rebuilds it. The opposite order could label old rows with the
new token and keep them.

No ``post_delete`` receiver is connected for ``Freshness``: Django would then
load and signal each of the 100,000 rows a refresh replaces instead of one
``DELETE``; the refresh bumps once instead.
"""

from __future__ import annotations

from uuid import uuid4

from django.db import models

from bestby import clock

__all__ = ["OPEN_DEALS", "PEOPLE", "bump", "changed", "connect", "current", "tokens"]

OPEN_DEALS = "open-deals"
PEOPLE = "people"
_WATCHED = {"pipeline.deal", "pipeline.stage", "pipeline.pipeline", "clearance.freshness"}


def bump(topic: str = OPEN_DEALS, *, deal_id: int | None = None) -> None:
    """Give ``topic`` a new token (creating its row), in the caller's transaction.

    For ``open-deals`` also note which deal changed (``deal_id``; None: many or all).
    """
    from bestby.pipeline.models import DealChange, Revision

    token = uuid4().hex
    if topic == OPEN_DEALS:
        DealChange.objects.create(token=token, deal_id=deal_id, at=clock.wall())
    if not Revision.objects.filter(topic=topic).update(token=token):
        Revision.objects.update_or_create(topic=topic, defaults={"token": token})


def current(topic: str = OPEN_DEALS) -> str:
    """The topic's token ("" before the first write)."""
    from bestby.pipeline.models import Revision

    row = Revision.objects.filter(topic=topic).values_list("token", flat=True)[:1]
    return row[0] if row else ""


def tokens(*topics: str) -> tuple[str, ...]:
    """The tokens of several topics in one query, in the order asked."""
    from bestby.pipeline.models import Revision

    found = dict(Revision.objects.filter(topic__in=topics).values_list("topic", "token"))
    return tuple(found.get(t, "") for t in topics)


def changed(model: type[models.Model]) -> None:
    """Bump the counter if ``model`` is one of the watched models (for bulk writers, which send no signals)."""
    label = model._meta.label_lower
    if label in _WATCHED:
        bump()
    elif label == "people.user":
        bump(PEOPLE)


def _on_write(sender, instance=None, **kwargs) -> None:
    """A deal's or freshness row's write names its deal; a stage's or pipeline's concerns many deals."""
    label = sender._meta.label_lower
    deal_id = instance.pk if label == "pipeline.deal" else instance.deal_id if label == "clearance.freshness" else None
    bump(deal_id=deal_id)


def _on_people(sender, **kwargs) -> None:
    bump(PEOPLE)


def connect() -> None:
    """Connect the signal receivers (called once from the pipeline app's ``ready``)."""
    from django.apps import apps
    from django.conf import settings
    from django.db.models.signals import post_delete, post_save

    for name in ("Deal", "Stage", "Pipeline"):
        model = apps.get_model("pipeline", name)
        post_save.connect(_on_write, sender=model, dispatch_uid=f"revision-{name}-save")
        post_delete.connect(_on_write, sender=model, dispatch_uid=f"revision-{name}-delete")
    user = apps.get_model(settings.AUTH_USER_MODEL)
    post_save.connect(_on_people, sender=user, dispatch_uid="revision-user-save")
    post_delete.connect(_on_people, sender=user, dispatch_uid="revision-user-delete")
    if apps.is_installed("bestby.clearance"):
        post_save.connect(_on_write, sender=apps.get_model("clearance", "Freshness"),
                          dispatch_uid="revision-freshness-save")

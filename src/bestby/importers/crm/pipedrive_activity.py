"""Pipedrive's activities as FORMAT.md touches.

Columns: ``Activity - ID`` / ``activity_id`` / ``id``, ``Activity - Type`` /
``type``, ``Activity - Done`` / ``done``, ``Activity - Due date`` /
``due_date`` / ``due_to`` (with ``Activity - Due time`` / ``due_time`` when the
time is apart), ``Activity - Deal ID`` / ``deal_id``, ``Activity - Assigned to
user`` / ``assigned_to_user`` / ``user_id``, and when present the person
(``person_id``, ``Activity - Contact person``), organization, subject, note,
duration (``HH:MM``) and ``marked_as_done_time``.

Each row is imported or counted under exactly one finding, tested in this
order:

1. ``activity_id_repeated``: an id an earlier row of the file already has (the
   Enpal extract: 4,579 rows, 4,568 ids; the rows sharing an id are different
   activities). The first row in the file keeps the id; FORMAT.md ids are
   unique and inventing ids would break the next import's matching.
2. ``not_done``: not marked done. A planned call is not a touch yet.
3. ``activity_not_a_touch``: a Pipedrive ``task`` or ``deadline``, an internal
   to-do rather than a contact with the buyer.
4. ``activity_deal_missing``: linked to a deal that is not imported (not in the
   export, or skipped); an activity without a deal is imported without one.
5. ``activity_no_time``: neither a due date nor a done time.

The touch is at the due date and time (when the call was planned, which is when
a logged call happened), else at the marked-as-done time. ``direction`` is
``out``: an activity is the seller's own action. Pipedrive records no outcome.

Channel from the activity type. The type cell is a type key (``call``,
``sc_2``) or, in spreadsheet exports, a type name; activity_types.csv
(``key_string`` or ``type``, ``name``) gives both. Pipedrive's built-in keys
decide by themselves: ``call`` phone, ``meeting`` and ``lunch`` meeting,
``email`` email, ``sms`` text, ``task`` and ``deadline`` no touch; they keep
their calendar behaviour whatever a team renames them to. When the type's name
says otherwise (the Enpal extract's built-in ``meeting`` is named "Sales Call
1") the key still decides and the type is a finding
(``activity_type_name_differs``). A custom key is read by its name's words,
then its key's: voicemail; email (or e-mail); sms, text, whatsapp -> text;
call, phone -> phone; meeting, lunch, demo, visit -> meeting; letter, mail ->
mail; linkedin, social -> social. So the Enpal extract's ``sc_2`` ("Sales Call
2"), ``follow_up`` ("Follow Up Call") and ``after_close_call`` are phone calls.
A type none of these words names is ``other`` (finding ``activity_type_other``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bestby.importers.crm.pipedrive_people import account_ref, contact_ref, user_ref

if TYPE_CHECKING:  # pragma: no cover
    from bestby.importers.crm.pipedrive import Ctx

ACT_ID = ("Activity - ID", "activity_id", "id")
ACT_TYPE = ("Activity - Type", "type")
ACT_DONE = ("Activity - Done", "done")
ACT_DUE = ("Activity - Due date", "due_date", "due_to")
ACT_DUE_TIME = ("Activity - Due time", "due_time")
ACT_DONE_TIME = ("Activity - Marked as done time", "marked_as_done_time")
ACT_DEAL = ("Activity - Deal ID", "deal_id")
ACT_USER = ("Activity - Assigned to user", "assigned_to_user", "user_id", "Activity - Owner")
ACT_PERSON = ("Activity - Contact person ID", "person_id", "Activity - Contact person")
ACT_ORG = ("Activity - Organization ID", "org_id", "Activity - Organization")
ACT_SUBJECT = ("Activity - Subject", "subject")
ACT_NOTE = ("Activity - Note", "note")
ACT_DURATION = ("Activity - Duration", "duration")
TYPE_KEY = ("key_string", "type", "key")
TYPE_NAME = ("name",)

BUILT_IN = {"call": "phone", "meeting": "meeting", "lunch": "meeting", "email": "email", "sms": "text",
            "task": None, "deadline": None}
#: words of a type's name or key, in priority order, and the channel each means
WORDS = (("voicemail", "voicemail"), ("email", "email"), ("sms", "text"), ("text", "text"), ("whatsapp", "text"),
         ("call", "phone"), ("phone", "phone"), ("meeting", "meeting"), ("lunch", "meeting"), ("demo", "meeting"),
         ("visit", "meeting"), ("letter", "mail"), ("mail", "mail"), ("linkedin", "social"), ("social", "social"))
DONE = {"true": True, "1": True, "yes": True, "y": True, "done": True,
        "false": False, "0": False, "no": False, "n": False, "": False, "to do": False, "todo": False,
        "not done": False}


def channel_by_words(*texts: str) -> str | None:
    for text in texts:
        words = set(re.findall(r"[a-z]+", text.lower().replace("e-mail", "email")))
        for word, channel in WORDS:
            if word in words:
                return channel
    return None


class Types:
    """Activity type cell -> (channel or None for no touch, type label for findings)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.name_of: dict[str, str] = {}
        self.key_of: dict[str, str] = {}
        self.where: dict[str, tuple[str, int | None]] = {}
        src = ctx.files.get("activity_types")
        if src is not None:
            keys, names = src.need(ctx.problems, *TYPE_KEY), src.opt(*TYPE_NAME)
            for i, (key, name) in enumerate(zip(keys, names)):
                if key:
                    self.name_of[key] = name
                    self.where[key] = (src.file, src.lines[i])
                    if name:
                        self.key_of.setdefault(name.casefold(), key)
        self.cache: dict[str, str | None] = {}

    def channel(self, cell: str, file: str, line: int | None) -> str | None:
        if cell in self.cache:
            return self.cache[cell]
        key = cell if cell in self.name_of else self.key_of.get(cell.casefold(), cell)
        name = self.name_of.get(key, "")
        where = self.where.get(key, (file, line))
        if key.lower() in BUILT_IN:
            channel = BUILT_IN[key.lower()]
            said = channel_by_words(name) if name else None
            if said is not None and said != channel:
                self.ctx.findings.keep("activity_type_name_differs", "activity types whose name says another channel "
                                       "than their built-in key (the key decides)", *where,
                                       f"type {key!r} named {name!r}: {channel or 'no touch'}, not {said}")
        else:
            channel = channel_by_words(name, key)
            if channel is None:
                channel = "other"
                self.ctx.findings.keep("activity_type_other", "activity types with no recognisable channel "
                                       "(imported as channel other)", *where, f"type {key!r} named {name!r}")
        self.cache[cell] = channel
        return channel


def observe(ctx: Ctx, src) -> None:
    for names in (ACT_DUE, ACT_DONE_TIME):
        cells = src.col(*names)
        if cells is not None:
            ctx.dates.observe(cells, f"{src.file} column {src.header(*names)}")


def _minutes(cell: str) -> int | None:
    if not cell:
        return None
    if ":" in cell:
        h, m = cell.split(":")[:2]
        return int(h) * 60 + int(m)
    return int(float(cell))


def touches(ctx: Ctx) -> None:
    src = ctx.files.get("activities")
    if src is None:
        return
    f = src.file
    ids, types, dones = src.need(ctx.problems, *ACT_ID), src.need(ctx.problems, *ACT_TYPE), src.need(ctx.problems, *ACT_DONE)
    if src.col(*ACT_DUE) is None and src.col(*ACT_DONE_TIME) is None:
        src.need(ctx.problems, *ACT_DUE)
    if ctx.problems:
        return
    dues, due_times, done_times = src.opt(*ACT_DUE), src.opt(*ACT_DUE_TIME), src.opt(*ACT_DONE_TIME)
    deals, users_, persons, orgs = src.opt(*ACT_DEAL), src.opt(*ACT_USER), src.opt(*ACT_PERSON), src.opt(*ACT_ORG)
    subjects, notes, durations = src.opt(*ACT_SUBJECT), src.opt(*ACT_NOTE), src.opt(*ACT_DURATION)
    h = {name: src.header(*cols) or cols[0] for name, cols in (
        ("id", ACT_ID), ("done", ACT_DONE), ("due", ACT_DUE), ("time", ACT_DUE_TIME), ("done_time", ACT_DONE_TIME),
        ("deal", ACT_DEAL), ("user", ACT_USER), ("duration", ACT_DURATION), ("person", ACT_PERSON),
        ("org", ACT_ORG), ("type", ACT_TYPE))}
    kinds = Types(ctx)
    table = ctx.out.table("touches")
    table.describe(f, touch_id=h["id"], at=h["due"], channel=h["type"], owner_id=h["user"], deal_id=h["deal"],
                   contact_id=h["person"], account_id=h["org"], duration_minutes=h["duration"])
    seen: dict[str, int] = {}
    for i, aid in enumerate(ids):
        line = src.lines[i]
        if not aid:
            ctx.problems.add(f, line, h["id"], "is required but empty")
            continue
        if aid in seen:
            ctx.findings.skip("activity_id_repeated", "activities whose id an earlier row already has (the first "
                              "row keeps it)", f, line, f"activity {aid}, first on line {src.lines[seen[aid]]}")
            continue
        seen[aid] = i
        done = DONE.get(dones[i].strip().lower())
        if done is None:
            ctx.problems.add(f, line, h["done"], f"{dones[i]!r} is not a done flag (true/false, 1/0, Done/To do)")
            continue
        if not done:
            ctx.findings.skip("not_done", "activities not done yet (planned, not a touch)", f, line, f"activity {aid}")
            continue
        channel = kinds.channel(types[i], f, line)
        if channel is None:
            ctx.findings.skip("activity_not_a_touch", "tasks and deadlines (internal to-dos, not a contact with "
                              "the buyer)", f, line, f"activity {aid}: {types[i]}")
            continue
        deal = deals[i]
        if deal and deal not in ctx.deals:
            ctx.findings.skip("activity_deal_missing", "activities linked to a deal that is not imported", f, line,
                              f"activity {aid}: deal {deal}" + (" (skipped)" if deal in ctx.skipped_deals else ""))
            continue
        at = _when(ctx, src, h, i, dues[i], due_times[i], done_times[i])
        if at is None:
            if not (dues[i] or done_times[i]):
                ctx.findings.skip("activity_no_time", "done activities with neither a due date nor a done time",
                                  f, line, f"activity {aid}")
            continue
        try:
            minutes = _minutes(durations[i])
        except ValueError:
            ctx.problems.add(f, line, h["duration"], f"{durations[i]!r} is not a duration (HH:MM or minutes)")
            continue
        account = account_ref(ctx, orgs[i], f, line, placeholder=False) or (ctx.deals.get(deal) if deal else None)
        text = "\n".join(t for t in (subjects[i], notes[i]) if t)
        table.add(f, line, touch_id=aid, at=at, channel=channel, owner_id=user_ref(ctx, users_[i], f, line),
                  direction="out", deal_id=deal or None, contact_id=contact_ref(ctx, persons[i], f, line),
                  account_id=account or None, duration_minutes=minutes, notes=text or None)


def _when(ctx: Ctx, src, h: dict, i: int, due: str, due_time: str, done_time: str):
    if due:
        at = ctx.ts(src, h["due"], i, due)
        if at is not None and due_time and len(due.strip()) <= 10:
            try:
                hh, mm = due_time.split(":")[:2]
                at = at.replace(hour=int(hh), minute=int(mm))
            except ValueError:
                ctx.problems.add(src.file, src.lines[i], h["time"], f"{due_time!r} is not a time (HH:MM)")
                return None
        return at
    if done_time:
        return ctx.ts(src, h["done_time"], i, done_time)
    return None

"""Salesforce tasks and events as FORMAT.md touches.

Which rows are touches
    A task is a touch when it is done: ``IsClosed`` true (or, without that
    column, ``Status`` Completed). Open tasks are plans, not attempts (finding
    ``task_not_done``). An event (a meeting) is a touch when it started at or
    before the export's latest recorded time (the largest CreatedDate,
    LastModifiedDate or SystemModstamp in the export): later events had not
    happened when the export was taken (finding ``event_not_yet``). Rows with
    ``IsDeleted`` are skipped.

Links
    ``WhatId`` names an opportunity, an account or something else (a
    campaign, a case); ``WhoId`` a contact or a lead. An id found among the
    imported opportunities, accounts, contacts or leads is linked. A ``WhatId``
    with Salesforce's opportunity prefix (006) that was not imported skips the
    touch (finding ``touch_deal_missing``: attempts on a deal bestby does not
    have would be counted against the wrong pipeline). Other unknown ids are
    dropped from the touch (finding ``touch_link_dropped``); a touch left with
    no link at all is skipped (finding ``touch_unlinked``). ``AccountId`` fills
    the account when no WhatId gives one.

Fields
    ``touch_id`` = Id; ``owner_id`` = OwnerId; ``at`` = CompletedDateTime,
    else ActivityDate, else CreatedDate (tasks), StartDateTime else
    ActivityDateTime (events). ``channel``: events are ``meeting``; a task by
    TaskSubtype (Call: phone, Email / ListEmail: email, LinkedIn: social), else
    by Type (Call, Email, Meeting, Letter / Send Letter: mail, Text / SMS:
    text), else by the Subject's first word (Call, Email, Voicemail), else
    ``other``. A call whose CallDisposition says a voicemail was left is a
    ``voicemail`` touch. ``direction`` = in for CallType Inbound, else out.
    ``outcome`` from CallDisposition by keyword (voicemail / left message:
    voicemail_left; no answer / busy: no_answer; meeting: meeting_booked;
    connected / spoke / reached / conversation: connected; bounce: bounced;
    repl: replied); a disposition none of these match is kept without outcome
    (finding ``outcome_unknown``). ``duration_minutes`` = CallDurationInSeconds
    / 60 rounded, or the event's DurationInMinutes; ``notes`` = Subject.
"""

from __future__ import annotations

from bestby.importers.crm.salesforce_stages import flags
from bestby.importers.crm.salesforce_people import _whole

SUBTYPES = {"call": "phone", "email": "email", "listemail": "email", "linkedin": "social"}
TYPES = {"call": "phone", "email": "email", "meeting": "meeting", "letter": "mail", "send letter": "mail",
         "send letter/quote": "mail", "text": "text", "sms": "text", "voicemail": "voicemail"}
SUBJECT_WORDS = {"call": "phone", "email": "email", "voicemail": "voicemail"}
OUTCOME_WORDS = (("voicemail", "voicemail_left"), ("left message", "voicemail_left"), ("no answer", "no_answer"),
                 ("busy", "no_answer"), ("meeting", "meeting_booked"), ("connected", "connected"),
                 ("spoke", "connected"), ("reached", "connected"), ("conversation", "connected"),
                 ("bounce", "bounced"), ("repl", "replied"))


_OUTCOMES: dict[str, str | None] = {}


def _outcome(disposition: str) -> str | None:
    """The outcome of a CallDisposition (cached: a team writes a handful of dispositions a million times)."""
    hit = _OUTCOMES.get(disposition, _outcome)
    if hit is not _outcome:
        return hit
    low = disposition.lower()
    result = next((o for word, o in OUTCOME_WORDS if word in low), None)
    if len(_OUTCOMES) < 10_000:
        _OUTCOMES[disposition] = result
    return result


def _as_of(ctx):
    latest = None
    for src in ctx.files.values():
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            cells = src.col(name)
            if not cells:
                continue
            for cell in set(cells):
                if not cell:
                    continue
                try:
                    value = ctx.dates.ts(cell)
                except ValueError:
                    continue
                if latest is None or value > latest:
                    latest = value
    return latest


def touches(ctx) -> None:
    table = ctx.out.table("touches")
    add = table.adder("touch_id", "at", "channel", "owner_id", "direction", "outcome", "deal_id", "lead_id",
                      "contact_id", "account_id", "duration_minutes", "notes")
    as_of = _as_of(ctx) if "event" in ctx.files else None
    for key in ("task", "event"):
        src = ctx.files.get(key)
        if src is None:
            continue
        event = key == "event"
        ids = src.need(ctx.problems, "Id")
        whos, whats, account_ids, owners = src.opt("WhoId"), src.opt("WhatId"), src.opt("AccountId"), src.opt("OwnerId")
        subjects, deleted = src.opt("Subject"), flags(src.opt("IsDeleted"))
        if event:
            at_cells, at_col = (src.opt("StartDateTime", "ActivityDateTime"),
                                src.header("StartDateTime", "ActivityDateTime") or "StartDateTime")
            durations = src.opt("DurationInMinutes")
            at_times = ctx.ts_col(src, at_col, at_cells)
        else:
            completed, activity, created = src.opt("CompletedDateTime"), src.opt("ActivityDate"), src.opt("CreatedDate")
            closed, status = flags(src.col("IsClosed")), src.opt("Status")
            done_times = [ctx.ts_col(src, c, cells) for c, cells in
                          (("CompletedDateTime", completed), ("ActivityDate", activity), ("CreatedDate", created))]
            subtypes, types, call_types = src.opt("TaskSubtype"), src.opt("Type"), src.opt("CallType")
            dispositions, seconds = src.opt("CallDisposition"), src.opt("CallDurationInSeconds")
        table.describe(src.file, touch_id="Id", owner_id="OwnerId", deal_id="WhatId", account_id="WhatId",
                       contact_id="WhoId", lead_id="WhoId", notes="Subject",
                       at=at_col if event else "CompletedDateTime", duration_minutes="DurationInMinutes" if event else "CallDurationInSeconds")
        lines = src.lines
        for i, tid in enumerate(ids):
            if not tid:
                ctx.problems.add(src.file, lines[i], "Id", "is required but empty")
                continue
            if deleted[i]:
                ctx.findings.skip("deleted", "rows deleted in Salesforce (IsDeleted)", src.file, lines[i], tid)
                continue
            if event:
                at = at_times[i]
                if at is None:
                    if not at_cells[i]:
                        ctx.problems.add(src.file, lines[i], at_col, "is required but empty")
                    continue
                if as_of is not None and at > as_of:
                    ctx.findings.skip("event_not_yet", "events after the export's latest time (not happened yet)",
                                      src.file, lines[i], f"{tid} at {at:%Y-%m-%d %H:%M}")
                    continue
            else:
                done = closed[i] if closed is not None else status[i].strip().lower() == "completed"
                if not done:
                    ctx.findings.skip("task_not_done", "tasks not done yet (open tasks are plans, not touches)",
                                      src.file, lines[i], f"{tid}: {status[i] or 'open'}")
                    continue
                at = done_times[0][i] or done_times[1][i] or done_times[2][i]
                if at is None:
                    if not (completed[i] or activity[i] or created[i]):
                        ctx.problems.add(src.file, lines[i], "CompletedDateTime", "a done task needs CompletedDateTime, "
                                         "ActivityDate or CreatedDate")
                    continue
            links = _links(ctx, src, i, tid, whats[i], whos[i], account_ids[i])
            if links is None:
                continue
            owner = owners[i]
            if owner:
                if owner not in ctx.users:
                    ctx.users_wanted.setdefault(owner, (src.file, lines[i]))
            if event:
                channel, direction, outcome = "meeting", "out", None
                duration = _whole(ctx, src, "DurationInMinutes", i, durations[i])
            else:
                channel = (SUBTYPES.get(subtypes[i].lower()) or TYPES.get(types[i].lower())
                           or SUBJECT_WORDS.get(subjects[i].split(" ", 1)[0].rstrip(":").lower() if subjects[i] else "")
                           or "other")
                direction = "in" if call_types[i].lower() == "inbound" else "out"
                outcome = _outcome(dispositions[i]) if dispositions[i] else None
                if dispositions[i] and outcome is None:
                    ctx.findings.keep("outcome_unknown", "call results bestby does not recognise (kept without outcome)",
                                      src.file, lines[i], f"{tid}: {dispositions[i]!r}")
                if channel == "phone" and outcome == "voicemail_left":
                    channel = "voicemail"
                secs = _whole(ctx, src, "CallDurationInSeconds", i, seconds[i])
                duration = round(secs / 60) if secs is not None else None
            add(src.file, lines[i], tid, at, channel, owner or None, direction, outcome, links["deal_id"],
                links["lead_id"], links["contact_id"], links["account_id"], duration, subjects[i])


def _links(ctx, src, i: int, tid: str, what: str, who: str, account: str) -> dict | None:
    """The touch's deal, account, contact and lead ids, or None when the touch is skipped (see module doc)."""
    links = {"deal_id": None, "account_id": None, "contact_id": None, "lead_id": None}
    line = src.lines[i]
    dropped = []
    if what:
        if what in ctx.deals:
            links["deal_id"] = what
            links["account_id"] = ctx.deals[what] or None
        elif what in ctx.accounts:
            links["account_id"] = what
        elif what.startswith("006") or what in ctx.skipped_deals:
            ctx.findings.skip("touch_deal_missing", "activities linked to an opportunity that was not imported",
                              src.file, line, f"{tid}: WhatId {what}")
            return None
        else:
            dropped.append(f"WhatId {what}")
    if who:
        if who in ctx.contacts:
            links["contact_id"] = who
        elif who in ctx.leads:
            links["lead_id"] = who
        else:
            dropped.append(f"WhoId {who}")
    if account and not links["account_id"] and account in ctx.accounts:
        links["account_id"] = account
    if not any(links.values()):
        ctx.findings.skip("touch_unlinked", "activities linked to nothing bestby imported", src.file, line,
                          f"{tid}: {', '.join(dropped) or 'no WhatId or WhoId'}")
        return None
    if dropped:
        ctx.findings.keep("touch_link_dropped", "activity links to records bestby does not import (link dropped)",
                          src.file, line, f"{tid}: {', '.join(dropped)}")
    return links

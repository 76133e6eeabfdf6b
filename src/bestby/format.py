"""The bestby interchange format (FORMAT.md) as data.

One place declares every file of the format, its columns, which are required,
and each column's type. The canonical importer validates against it, the
exporter writes it, the synthetic generator and the other importers produce it.
This module is pure: no Django, no I/O.

Column types:

``id``        a string id (unique within its file when it is the file's key)
``ref:F``     a string id that must exist in file ``F`` (or already in the store)
``str``       free text
``int``       a whole number
``decimal``   a decimal number (money, prices, quantities)
``float``     a real number (probabilities)
``ts``        an ISO 8601 timestamp; a bare date is midnight in the workspace zone
``date``      an ISO 8601 calendar date
``enum:a|b``  one of the listed values
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False

    @property
    def ref(self) -> str | None:
        return self.type[4:] if self.type.startswith("ref:") else None

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.type[5:].split("|")) if self.type.startswith("enum:") else ()


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # the columns that identify a row; empty: an event matched on full content
    doc: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(spec: str) -> Column:
    """Parse ``name:type`` with a trailing ``!`` for a required column."""
    name, _, typ = spec.partition(":")
    required = typ.endswith("!")
    return Column(name, typ.rstrip("!"), required)


def _f(name: str, key: tuple[str, ...], *cols: str, doc: str = "") -> FileSpec:
    return FileSpec(name, tuple(_c(c) for c in cols), key, doc)


def choices_of(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """Django ``choices`` for an enum of this format: the value, and its label (``no_answer`` -> "No answer")."""
    return [(v, v.replace("_", " ").capitalize()) for v in values]


ROLES = ("rep", "manager", "admin")
STAGE_KINDS = ("open", "won", "lost")
BUYING_ROLES = ("decision_maker", "champion", "influencer", "user", "other")
LEAD_SOURCES = ("prospecting", "networking", "referral", "inbound", "other")
LEAD_STATUSES = ("new", "in_cadence", "engaged", "nurture", "disqualified", "converted")
DEAL_STATUSES = ("open", "won", "lost")
CHANNELS = ("phone", "email", "voicemail", "mail", "text", "meeting", "social", "other")
DIRECTIONS = ("out", "in")
OUTCOMES = ("connected", "no_answer", "voicemail_left", "replied", "meeting_booked", "bounced")

#: channels that count as a touch for cadences and "days since last touch";
#: a social "like" is recorded but is not a touch (DESIGN.md, idea 4).
REAL_TOUCH_CHANNELS = tuple(c for c in CHANNELS if c != "social")


def _enum(values: tuple[str, ...]) -> str:
    return "enum:" + "|".join(values)


FILES: tuple[FileSpec, ...] = (
    _f("users", ("user_id",),
       "user_id:id!", "name:str", "email:str", f"role:{_enum(ROLES)}", "manager_id:ref:users",
       "team:str", "territory:str",
       doc="sellers and their managers"),
    _f("stages", ("pipeline", "stage"),
       "pipeline:str!", "stage:str!", "position:int!", f"kind:{_enum(STAGE_KINDS)}",
       "probability:float",
       doc="the sales process"),
    _f("accounts", ("account_id",),
       "account_id:id!", "name:str", "sector:str", "territory:str", "employees:int",
       "annual_revenue:decimal", "parent_account_id:ref:accounts", "payment_terms_days:int",
       "created_at:ts",
       doc="customers and prospects' companies"),
    _f("contacts", ("contact_id",),
       "contact_id:id!", "account_id:ref:accounts", "name:str", "title:str", "email:str",
       "phone:str", f"buying_role:{_enum(BUYING_ROLES)}",
       doc="people at accounts"),
    _f("products", ("product_id",),
       "product_id:id!", "name:str", "category:str", "list_price:decimal", "unit_cost:decimal",
       doc="what is sold"),
    _f("deals", ("deal_id",),
       "deal_id:id!", "pipeline:str", "name:str", "account_id:ref:accounts", "owner_id:ref:users",
       "amount:decimal", "currency:str", "created_at:ts!", "stage:str",
       f"status:{_enum(DEAL_STATUSES)}", "closed_at:ts", "close_date:date", "lost_reason:str",
       "source:str", "product_id:ref:products",
       doc="opportunities"),
    _f("leads", ("lead_id",),
       "lead_id:id!", "name:str", "company:str", "email:str", "phone:str", "owner_id:ref:users",
       f"source:{_enum(LEAD_SOURCES)}", "created_at:ts", f"status:{_enum(LEAD_STATUSES)}",
       "converted_deal_id:ref:deals",
       doc="people and companies not yet a deal"),
    _f("stage_events", (),
       "deal_id:ref:deals!", "at:ts!", "to_stage:str!", "from_stage:str",
       doc="every stage change"),
    _f("close_date_events", (),
       "deal_id:ref:deals!", "at:ts!", "new_close_date:date!", "old_close_date:date",
       doc="every change of the expected close date"),
    _f("touches", ("touch_id",),
       "touch_id:id!", "at:ts!", f"channel:{_enum(CHANNELS)}!", "owner_id:ref:users",
       f"direction:{_enum(DIRECTIONS)}", f"outcome:{_enum(OUTCOMES)}", "deal_id:ref:deals",
       "lead_id:ref:leads", "contact_id:ref:contacts", "account_id:ref:accounts",
       "duration_minutes:int", "notes:str",
       doc="every attempt to reach a buyer and every reply"),
    _f("orders", ("order_id", "line_no"),
       "order_id:id!", "line_no:int!", "account_id:ref:accounts!", "product_id:ref:products!",
       "ordered_at:ts!", "quantity:decimal!", "unit_price:decimal!", "unit_cost:decimal",
       "committed_quantity:decimal", "promised_at:ts", "taken_at:ts",
       doc="order lines"),
    _f("invoices", ("invoice_id",),
       "invoice_id:id!", "account_id:ref:accounts!", "issued_at:ts!", "due_at:ts!",
       "amount:decimal!", "paid_at:ts",
       doc="receivables"),
    _f("wallet", ("account_id", "category"),
       "account_id:ref:accounts!", "category:str!", "potential_annual_spend:decimal!",
       "incumbent:str",
       doc="what the account spends or could spend per product category"),
    _f("quotas", ("owner_id", "period_start", "period_end"),
       "owner_id:str!", "period_start:date!", "period_end:date!", "amount:decimal!",
       doc="goals per seller (a team:NAME owner id sets a team goal)"),
)

#: files in the order they must be loaded so that every reference points back
FILE_ORDER: tuple[str, ...] = tuple(f.name for f in FILES)
SPECS: dict[str, FileSpec] = {f.name: f for f in FILES}
REQUIRED_FILES = ("deals",)

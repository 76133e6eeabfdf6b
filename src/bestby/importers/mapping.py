"""Where each FORMAT.md file lives in the store: model, fields, and how rows are matched.

Shared by the canonical importer and the exporter, so the two can never
disagree about a column. ``Col.ref`` names the FORMAT.md file a column points
into; the store keeps that as a foreign key and the exporter writes the
referenced row's external id back.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class Col:
    column: str            # FORMAT.md column
    field: str             # model field name
    ref: str | None = None  # FORMAT.md file referenced (the model has external_id)

    @property
    def attname(self) -> str:
        return f"{self.field}_id" if self.ref else self.field


@dataclass(frozen=True)
class FileMap:
    file: str
    model_label: str
    cols: tuple[Col, ...]
    key: tuple[str, ...] | None   # model attnames that identify a row; None: an event, matched on full content

    @property
    def model(self):
        return apps.get_model(self.model_label)

    @property
    def attnames(self) -> tuple[str, ...]:
        return tuple(c.attname for c in self.cols) + ("custom",)


def _cols(*specs: str) -> tuple[Col, ...]:
    """``column=field>ref`` shorthand; ``field`` defaults to the column name."""
    out = []
    for spec in specs:
        spec, _, ref = spec.partition(">")
        column, _, field = spec.partition("=")
        out.append(Col(column, field or column, ref or None))
    return tuple(out)


#: users, stages, deals and stage_events need special handling (pipelines and
#: stage names, sign-in fields); their columns are listed here for the exporter
MAPS: dict[str, FileMap] = {
    m.file: m
    for m in (
        FileMap("users", "people.User",
                _cols("user_id=external_id", "name", "email", "role", "manager_id=manager>users", "team", "territory"),
                ("external_id",)),
        FileMap("stages", "pipeline.Stage",
                _cols("pipeline=pipeline>pipelines", "stage=name", "position", "kind", "probability"),
                ("pipeline_id", "name")),
        FileMap("accounts", "accounts.Account",
                _cols("account_id=external_id", "name", "sector", "territory", "employees", "annual_revenue",
                      "parent_account_id=parent>accounts", "payment_terms_days", "created_at"),
                ("external_id",)),
        FileMap("contacts", "accounts.Contact",
                _cols("contact_id=external_id", "account_id=account>accounts", "name", "title", "email", "phone",
                      "buying_role"),
                ("external_id",)),
        FileMap("products", "commerce.Product",
                _cols("product_id=external_id", "name", "category", "list_price", "unit_cost"),
                ("external_id",)),
        FileMap("deals", "pipeline.Deal",
                _cols("deal_id=external_id", "pipeline=pipeline>pipelines", "name", "account_id=account>accounts",
                      "owner_id=owner>users", "amount", "currency", "created_at", "stage=stage>stages", "status",
                      "closed_at", "close_date", "lost_reason", "source", "product_id=product>products"),
                ("external_id",)),
        FileMap("leads", "activities.Lead",
                _cols("lead_id=external_id", "name", "company", "email", "phone", "owner_id=owner>users", "source",
                      "created_at", "status", "converted_deal_id=converted_deal>deals"),
                ("external_id",)),
        FileMap("stage_events", "pipeline.StageEvent",
                _cols("deal_id=deal>deals", "at", "to_stage=to_stage>stages", "from_stage=from_stage>stages"),
                None),
        FileMap("close_date_events", "pipeline.CloseDateEvent",
                _cols("deal_id=deal>deals", "at", "new_close_date", "old_close_date"),
                None),
        FileMap("touches", "activities.Touch",
                _cols("touch_id=external_id", "at", "channel", "owner_id=owner>users", "direction", "outcome",
                      "deal_id=deal>deals", "lead_id=lead>leads", "contact_id=contact>contacts",
                      "account_id=account>accounts", "duration_minutes", "notes"),
                ("external_id",)),
        FileMap("orders", "commerce.OrderLine",
                _cols("order_id", "line_no", "account_id=account>accounts", "product_id=product>products",
                      "ordered_at", "quantity", "unit_price", "unit_cost", "committed_quantity", "promised_at",
                      "taken_at"),
                ("order_id", "line_no")),
        FileMap("invoices", "commerce.Invoice",
                _cols("invoice_id=external_id", "account_id=account>accounts", "issued_at", "due_at", "amount",
                      "paid_at"),
                ("external_id",)),
        FileMap("wallet", "accounts.WalletRow",
                _cols("account_id=account>accounts", "category", "potential_annual_spend", "incumbent"),
                ("account_id", "category")),
        FileMap("quotas", "goals.Quota",
                _cols("owner_id=owner_key", "period_start", "period_end", "amount"),
                ("owner_key", "period_start", "period_end")),
    )
}

#: the model that holds the rows a ``ref`` points to, keyed by external_id
REF_MODELS = {
    "users": "people.User",
    "accounts": "accounts.Account",
    "contacts": "accounts.Contact",
    "products": "commerce.Product",
    "deals": "pipeline.Deal",
    "leads": "activities.Lead",
}

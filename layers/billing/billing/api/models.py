"""Request and response models: camelCase JSON at the edge, unknown fields refused, sizes bounded.

Every function imports this module, and most use one or two of its models: each model builds its validator and
serializer on first use (`defer_build`), not when its class is created, and the services' input types are
imported by the `to_domain` that returns them. Together that is tens of ms off every cold start.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter
from pydantic.alias_generators import to_camel
from pydantic_core import to_json

from billing.domain.period import Period
from billing.services.usage.ingest import MAX_EVENTS, UsageEvent

if TYPE_CHECKING:
    from billing.services.credits.grant import CreditInput
    from billing.services.customers.upsert import CustomerInput
    from billing.services.payments.record import PaymentInput

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Currency = Literal["EUR", "USD", "GBP", "CHF", "JPY"]
InvoiceStatus = Literal["DRAFT", "SENT", "PAID", "OVERDUE", "CANCELLED"]


class In(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
                              defer_build=True)


class Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)


# ---- requests ---------------------------------------------------------------------------------------------

class AddressIn(In):
    line1: Text
    line2: Text | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    city: Text
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class CustomerIn(In):
    name: Text
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254,
                                            pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    address: AddressIn
    plan: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")]
    interval: Literal["MONTH", "YEAR"] = "MONTH"
    currency: Currency = "EUR"
    locale: Literal["fr-FR", "en-US"] = "fr-FR"
    vat_number: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[0-9A-Z]{2,13}$")] | None = None
    siren: Annotated[str, StringConstraints(pattern=r"^\d{9}$")] | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 .()-]{6,20}$")] | None = None
    start_date: date | None = None
    status: Literal["ACTIVE", "PAUSED", "CANCELLED"] = "ACTIVE"
    auto_renew: bool = True

    def to_domain(self) -> CustomerInput:
        from billing.services.customers.upsert import CustomerInput

        return CustomerInput(
            name=self.name, email=self.email, address_line1=self.address.line1, address_line2=self.address.line2,
            postal_code=self.address.postal_code, city=self.address.city, country=self.address.country,
            plan=self.plan, interval=self.interval, currency=self.currency, locale=self.locale,
            vat_number=self.vat_number, siren=self.siren, phone=self.phone, start_date=self.start_date,
            status=self.status, auto_renew=self.auto_renew,
        )


class UsageEventIn(In):
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    user_id: UUID
    timestamp: AwareDatetime
    requests: Annotated[int, Field(strict=True, ge=1, le=10_000_000)]


class UsageIn(In):
    events: Annotated[list[UsageEventIn], Field(min_length=1, max_length=MAX_EVENTS)]

    def to_domain(self) -> list[UsageEvent]:
        return [UsageEvent(e.event_id, str(e.user_id), e.timestamp, e.requests) for e in self.events]


class PeriodIn(In):
    type: Literal["monthly", "custom"] = "monthly"
    start_date: date
    end_date: date

    def to_domain(self) -> Period:
        return Period(self.type, self.start_date, self.end_date)


class InvoiceCreateIn(In):
    user_id: UUID | None = None
    period: PeriodIn
    send_immediately: bool = False
    finalize: bool = True


class InvoicePatchIn(In):
    status: InvoiceStatus | None = None
    due_date: date | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


MinorAmount = Annotated[int, Field(strict=True, ge=1, le=10**12)]


class PaymentIn(In):
    amount: MinorAmount
    currency: Currency
    provider: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")]
    provider_transaction_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    status: Literal["COMPLETED", "FAILED", "PENDING", "REFUNDED"] = "COMPLETED"

    def to_domain(self) -> PaymentInput:
        from billing.services.payments.record import PaymentInput

        return PaymentInput(self.amount, self.currency, self.provider, self.provider_transaction_id, self.status)


class CreditIn(In):
    amount: MinorAmount
    currency: Currency
    type: Literal["PROMOTIONAL", "REFUND", "COMPENSATION", "ADJUSTMENT"]
    reason: Text
    expires_at: date | None = None

    def to_domain(self) -> CreditInput:
        from billing.services.credits.grant import CreditInput

        return CreditInput(self.amount, self.currency, self.type, self.reason, self.expires_at)


class InvoiceListQuery(In):
    status: InvoiceStatus | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    user_id: UUID | None = None


# ---- responses --------------------------------------------------------------------------------------------

class PeriodOut(Out):
    type: str
    start_date: date
    end_date: date


class ItemOut(Out):
    position: int
    kind: str
    description: str
    quantity: int
    unit_price: int
    base_quantity: int
    amount: int


class DocumentOut(Out):
    key: str
    size: int | None
    sha256: str | None
    etag: str | None
    recorded_at: datetime | None


class CreditNoteOut(Out):
    id: str
    number: str
    issue_date: date
    subtotal: int
    tax: int
    total: int
    document_key: str
    recorded_at: datetime | None


class InvoiceOut(Out):
    id: str
    number: str | None
    user_id: str
    status: str
    currency: str
    period: PeriodOut
    issue_date: date | None
    due_date: date | None
    subtotal: int
    tax_rate: str
    tax_category: str
    tax_mention: str | None
    tax: int
    total: int
    credits_applied: int
    amount_due: int
    amount_paid: int
    notes: str | None
    send_requested: bool
    emailed_at: datetime | None
    items: list[ItemOut] | None = None
    document: DocumentOut | None
    credit_note: CreditNoteOut | None = None
    payments: list["PaymentOut"] | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "InvoiceOut":
        items = row.get("items")
        return cls(
            id=row["id"], number=row["number"], user_id=row["user_id"], status=row["status"],
            currency=row["currency"].strip(),
            period=PeriodOut(type=row["period_type"], start_date=row["period_start"], end_date=row["period_end"]),
            issue_date=row["issue_date"], due_date=row["due_date"], subtotal=row["subtotal_minor"],
            tax_rate=str(row["tax_rate"].normalize()), tax_category=row["tax_category"],
            tax_mention=row["tax_mention"], tax=row["tax_minor"], total=row["total_minor"],
            credits_applied=row["credits_applied_minor"],
            amount_due=row["total_minor"] - row["credits_applied_minor"], amount_paid=row["paid_minor"],
            notes=row["notes"], send_requested=row["send_requested"], emailed_at=row["emailed_at"],
            items=None if items is None else [
                ItemOut(position=i["position"], kind=i["kind"], description=i["description"], quantity=i["quantity"],
                        unit_price=i["unit_price_minor"], base_quantity=i["base_quantity"], amount=i["amount_minor"])
                for i in items
            ],
            document=None if not row["pdf_key"] else DocumentOut(
                key=row["pdf_key"], size=row["pdf_size"], sha256=row["pdf_sha256"], etag=row["pdf_etag"],
                recorded_at=row["document_recorded_at"],
            ),
            credit_note=None if not row.get("credit_note") else CreditNoteOut(
                id=row["credit_note"]["id"], number=row["credit_note"]["number"],
                issue_date=row["credit_note"]["issue_date"], subtotal=row["credit_note"]["subtotal_minor"],
                tax=row["credit_note"]["tax_minor"], total=row["credit_note"]["total_minor"],
                document_key=row["credit_note"]["pdf_key"], recorded_at=row["credit_note"]["document_recorded_at"],
            ),
            payments=None if row.get("payments") is None else [PaymentOut.from_row(p) for p in row["payments"]],
            created_at=row["created_at"], updated_at=row["updated_at"],
        )


class InvoicePage(Out):
    items: list[InvoiceOut]
    next_cursor: str | None

    @staticmethod
    def items_json(rows: list[dict[str, Any]]) -> str:
        """The `items` of a page of invoice rows, serialised as this model serialises them: the list cache keeps
        this text, so a cached page is neither decoded nor modelled again."""
        return _invoice_list().dump_json([InvoiceOut.from_row(r) for r in rows], by_alias=True).decode()

    @staticmethod
    def items_shape() -> str:
        """A fingerprint of what `items_json` writes (its JSON schema): the list cache keys pages with it, so after
        a deploy that changes InvoiceOut no container serves a page rendered by the code before."""
        return _items_shape()

    @staticmethod
    def page_json(items_json: str, next_cursor: str | None) -> str:
        """The page around items already serialised: the same text as `model_dump_json(by_alias=True)`."""
        return f'{{"items":{items_json},"nextCursor":{to_json(next_cursor).decode()}}}'


@lru_cache(maxsize=None)
def _invoice_list() -> TypeAdapter[list[InvoiceOut]]:
    return TypeAdapter(list[InvoiceOut])  # built on first use, as the models are


@lru_cache(maxsize=None)
def _items_shape() -> str:
    schema = _invoice_list().json_schema(by_alias=True, mode="serialization")
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:12]


class AddressOut(Out):
    line1: str
    line2: str | None
    postal_code: str
    city: str
    country: str


class SubscriptionOut(Out):
    plan: str
    interval: str
    status: str
    start_date: date
    end_date: date | None
    auto_renew: bool


class CustomerOut(Out):
    user_id: str
    name: str
    email: str
    address: AddressOut
    plan: str | None
    interval: str | None
    currency: str
    locale: str
    vat_number: str | None
    siren: str | None
    phone: str | None
    subscription: SubscriptionOut | None

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> "CustomerOut":
        p, s = view["profile"], view["subscription"]
        return cls(
            user_id=p["user_id"], name=p["name"], email=p["email"],
            address=AddressOut(line1=p["address_line1"], line2=p["address_line2"], postal_code=p["postal_code"],
                               city=p["city"], country=p["country"].strip()),
            plan=s and s["plan_code"], interval=s and s["interval"], currency=p["currency"].strip(),
            locale=p["locale"], vat_number=p["vat_number"], siren=p["siren"], phone=p["phone"],
            subscription=s and SubscriptionOut(plan=s["plan_code"], interval=s["interval"], status=s["status"],
                                               start_date=s["started_on"], end_date=s["ended_on"],
                                               auto_renew=s["auto_renew"]),
        )


class UsageOut(Out):
    accepted: int
    duplicates: int


class PaymentOut(Out):
    id: str
    invoice_id: str
    amount: int
    currency: str
    status: str
    provider: str
    provider_transaction_id: str
    received_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "PaymentOut":
        return cls(id=row["id"], invoice_id=row["invoice_id"], amount=row["amount_minor"],
                   currency=row["currency"].strip(), status=row["status"], provider=row["provider"],
                   provider_transaction_id=row["provider_transaction_id"], received_at=row["received_at"])


class CreditOut(Out):
    id: str
    user_id: str
    type: str
    amount: int
    remaining: int
    currency: str
    reason: str
    expires_at: date | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "CreditOut":
        return cls(id=row["id"], user_id=row["user_id"], type=row["type"], amount=row["amount_minor"],
                   remaining=row["remaining_minor"], currency=row["currency"].strip(), reason=row["reason"],
                   expires_at=row["expires_on"], created_at=row["created_at"])


class AlertOut(Out):
    id: str
    user_id: str
    type: str
    message: str
    invoice_id: str | None
    created_at: datetime
    resolved_at: datetime | None


class AlertList(Out):
    items: list[AlertOut]


class AlertQuery(In):
    user_id: UUID | None = None


class InvoiceJobIn(In):
    """A monthly-run queue message."""
    user_id: UUID
    period: PeriodIn

    def to_domain(self) -> "InvoiceJob":
        from billing.services.invoices.monthly_run import InvoiceJob

        return InvoiceJob(str(self.user_id), self.period.to_domain())


class StorageStatsQuery(In):
    user_id: UUID | None = None


class StorageStatsOut(Out):
    user_id: str | None
    files: int
    bytes: int
    average_bytes: int
    archived_files: int


class PdfQuery(In):
    expires_in: Annotated[int, Field(ge=1)] | None = None


class AuditQuery(In):
    target: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9*:_-]+$")]


class AuditOut(Out):
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    ip: str | None
    user_agent: str | None
    hash: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "AuditOut":
        return cls(seq=row["seq"], occurred_at=row["occurred_at"], actor=row["actor"], action=row["action"],
                   target_type=row["target_type"], target_id=row["target_id"], details=row["details"],
                   ip=row["ip"], user_agent=row["user_agent"], hash=row["hash"].hex())


class AuditList(Out):
    items: list[AuditOut]


InvoiceOut.model_rebuild()


class ConsentIn(In):
    purpose: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
    granted: bool
    source: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "api"


class ConsentOut(Out):
    id: str
    purpose: str
    granted: bool
    source: str
    recorded_at: datetime

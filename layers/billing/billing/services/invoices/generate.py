"""Compute one customer's invoice for one period, store it as a DRAFT, then issue it."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from billing.config import settings
from billing.domain.errors import (CustomerNotFound, InvalidPeriod, InvalidTransition, InvoiceExists,
                                   NoActiveSubscription, PeriodOverlap)
from billing.domain.status import ISSUED
from billing.domain.period import Period
from billing.domain.pricing import Segment, lines_for_segments, totals
from billing.domain.tax import treatment
from billing.ports.db import Database, Tx, database, violates
from billing.ports.db import customers, invoices, usage
from billing.ports.db.plans import get_plan
from billing.services import audit

from .finalize import issue_invoice
from .changes import invoices_changed

BUYER_FIELDS = ("name", "email", "address_line1", "address_line2", "postal_code", "city", "country",
                "vat_number", "siren")


def generate_invoice(user_id: str, period: Period, *, send_requested: bool = False, finalize: bool = True,
                     today: date | None = None, db: Database | None = None) -> dict[str, Any]:
    """Returns the issued invoice with its items; raises InvoiceExists when the period is already invoiced."""
    db = db or database()
    cfg = settings()
    today = today or date.today()
    if period.end >= today:
        raise InvalidPeriod("Only a period that has ended can be invoiced")
    with db.transaction() as tx:
        near = invoices.live_invoice_near(tx, user_id, period.start, period.end)
        if near and near[1]:
            existing = near[0]
            draft = invoices.get(tx, existing)
            if not (finalize and draft["status"] == "DRAFT"):
                raise InvoiceExists(existing)
            invoice_id = existing  # a DRAFT left by an interrupted request: issue it now
        elif near:
            raise PeriodOverlap(near[0])
        else:
            invoice_id = _insert_draft(tx, user_id, period, send_requested, cfg)
    if finalize:
        try:
            return issue_invoice(invoice_id, today=today, db=db)
        except InvalidTransition as exc:
            if exc.extra["from"] in ISSUED:  # a concurrent request issued the draft between our read and its lock
                raise InvoiceExists(invoice_id) from None
            raise
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id)
        invoice["items"] = invoices.items(tx, invoice_id)
    invoices_changed(user_id)
    return invoice


def _insert_draft(tx: Tx, user_id: str, period: Period, send_requested: bool, cfg) -> str:
    """The caller has checked that no live invoice covers or overlaps the period (the constraints catch a race)."""
    profile = customers.get_profile(tx, user_id)
    if profile is None:
        raise CustomerNotFound(f"No billing profile for {user_id}")
    requests = usage.requests_in(tx, user_id, period.start, period.end)
    segments = _segments(tx, user_id, period, requests)
    lines = lines_for_segments(segments, period, requests, profile["locale"])
    currency = segments[-1].plan.currency
    vat = treatment(profile["country"], profile["vat_number"], cfg.tax_rate, cfg.seller.country)
    sums = totals(lines, currency, vat.rate)
    try:
        with tx.savepoint():
            invoice_id = invoices.insert_draft(
                tx, user_id=user_id, currency=currency, period_type=period.type,
                period_start=period.start, period_end=period.end, subtotal_minor=sums.subtotal.minor,
                tax_rate=sums.tax_rate, tax_minor=sums.tax.minor, total_minor=sums.total.minor,
                send_requested=send_requested, buyer={k: profile.get(k) for k in BUYER_FIELDS},
                seller=asdict(cfg.seller), locale=profile["locale"], tax_category=vat.category,
                tax_mention=vat.mention_for(profile["locale"]),
            )
    except Exception as exc:
        if violates(exc, "invoices_one_per_period") or violates(exc, "invoices_no_overlap"):
            # A concurrent request won the race for this period (or an overlapping one).
            winner, exact = invoices.live_invoice_near(tx, user_id, period.start, period.end)
            raise (InvoiceExists(winner) if exact else PeriodOverlap(winner)) from None
        raise
    audit.record(tx, "invoice.created", "invoice", invoice_id, user_id=user_id, period_start=period.start,
                 period_end=period.end, total=sums.total.minor)
    invoices.insert_items(tx, invoice_id, [
        {"kind": line.kind, "description": line.description, "quantity": line.quantity,
         "unit_price_minor": line.unit_price.minor, "base_quantity": line.base_quantity,
         "amount_minor": line.amount.minor}
        for line in lines
    ])
    return invoice_id


def _segments(tx: Tx, user_id: str, period: Period, requests: int) -> list[Segment]:
    """The stretches of subscription inside the period. Usage recorded before the first subscription began
    (reported before billing was set up) is billed at the first plan, fee included."""
    rows = customers.segments_overlapping(tx, user_id, period.start, period.end)
    if not rows:
        first = customers.first_subscription(tx, user_id)
        if first is None or period.end >= first["started_on"] or requests == 0:
            raise NoActiveSubscription(f"No subscription of {user_id} covers this period")
        rows = [{**first, "status": "ACTIVE", "started_on": period.start, "ended_on": None}]
    segments = []
    for row in rows:
        plan = get_plan(tx, row["plan_code"])
        if plan is None:
            raise NoActiveSubscription(f"Plan {row['plan_code']} is no longer offered")
        segments.append(Segment(plan, row["interval"], row["status"] != "PAUSED", row["started_on"], row["ended_on"]))
    return segments

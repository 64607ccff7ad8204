"""Demo data for `make run`: five customers on different plans and a month of usage."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from billing.domain.period import Period
from billing.services.customers.upsert import CustomerInput, upsert_customer
from billing.services.usage.ingest import MAX_EVENTS, UsageEvent, ingest_usage

ADMIN_ID = "00000000-0000-4000-8000-00000000ad01"

# (user id, profile, requests in the month)
CUSTOMERS: list[tuple[str, CustomerInput, int]] = [
    ("5b0f6a3e-1c1a-4d7e-9a51-000000000001", CustomerInput(
        name="Acme SARL", email="compta@acme.example", address_line1="8 quai Saint-Antoine", postal_code="69002",
        city="Lyon", country="FR", plan="BASIC", interval="MONTH", currency="EUR", locale="fr-FR",
        siren="552100554", vat_number="FR40552100554"), 25_000),
    ("5b0f6a3e-1c1a-4d7e-9a51-000000000002", CustomerInput(
        name="Dupont & Fils", email="contact@dupont.example", address_line1="3 rue du Port", postal_code="44000",
        city="Nantes", country="FR", plan="FREE", interval="MONTH", currency="EUR", locale="fr-FR"), 800),
    ("5b0f6a3e-1c1a-4d7e-9a51-000000000003", CustomerInput(
        name="Globex Consulting", email="billing@globex.example", address_line1="40 avenue de l'Europe",
        postal_code="67000", city="Strasbourg", country="FR", plan="PREMIUM", interval="MONTH", currency="EUR",
        locale="en-US", siren="732829320"), 140_000),
    ("5b0f6a3e-1c1a-4d7e-9a51-000000000004", CustomerInput(
        name="Initech SAS", email="ap@initech.example", address_line1="1 place de la Défense", postal_code="92400",
        city="Courbevoie", country="FR", plan="ENTERPRISE", interval="MONTH", currency="EUR", locale="fr-FR",
        siren="443061841"), 2_600_000),
    ("5b0f6a3e-1c1a-4d7e-9a51-000000000005", CustomerInput(
        name="Umbrella Labs", email="finance@umbrella.example", address_line1="15 rue Sainte-Catherine",
        postal_code="33000", city="Bordeaux", country="FR", plan="PREMIUM", interval="YEAR", currency="EUR",
        locale="en-US"), 60_000),
]


def demo_usage(user_id: str, period: Period, total: int) -> list[UsageEvent]:
    """The month's requests spread over its days, one event a day, with stable ids (reseeding adds nothing)."""
    days = period.days
    events = []
    for i in range(days):
        requests = total // days + (1 if i < total % days else 0)
        if requests:
            at = datetime.combine(period.start + timedelta(days=i), datetime.min.time(), timezone.utc) + timedelta(hours=12)
            events.append(UsageEvent(f"demo-{user_id}-{i:02d}", user_id, at, requests))
    return events


def seed(today: date, log=print) -> None:
    """Customers and last month's usage; invoicing is left to the monthly run (or the caller)."""
    period = Period.previous_month(today)
    for user_id, profile, requests in CUSTOMERS:
        # A yearly subscriber renews in the demo month, so its invoice shows the yearly fee.
        start = period.start.replace(year=period.start.year - 1) if profile.interval == "YEAR" else period.start
        upsert_customer(user_id, CustomerInput(**{**profile.__dict__, "start_date": start}), today=today)
        events = demo_usage(user_id, period, requests)
        for i in range(0, len(events), MAX_EVENTS):
            ingest_usage(events[i:i + MAX_EVENTS])

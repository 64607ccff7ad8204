"""E-mail raised alerts to their customers; an alert is stored first, so a mail failure loses nothing."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from billing.domain.errors import EmailFailed
from billing.ports import mail
from billing.ports.db import Database, customers, database

logger = Logger(child=True)

SUBJECTS = {
    "USAGE_THRESHOLD": {"fr": "Alerte de consommation", "en": "Usage alert"},
    "PAYMENT_FAILED": {"fr": "Échec de paiement", "en": "Payment failed"},
    "INVOICE_OVERDUE": {"fr": "Facture en retard de paiement", "en": "Invoice overdue"},
    "SUBSCRIPTION_EXPIRING": {"fr": "Votre abonnement arrive à échéance", "en": "Your subscription is expiring"},
}


def notify(raised: list[dict[str, Any]], *, db: Database | None = None) -> int:
    """Best effort: returns how many were mailed; failures are logged, the alerts stay listed."""
    sent = 0
    for alert in raised:
        with (db or database()).transaction() as tx:
            profile = customers.get_profile(tx, alert["user_id"])
        if profile is None:
            continue
        language = "fr" if profile["locale"].startswith("fr") else "en"
        try:
            mail.send(profile["email"], f"TwinMCP — {SUBJECTS[alert['type']][language]}", alert["message"] + "\n")
            sent += 1
        except EmailFailed:
            logger.warning("alert not mailed", extra={"alert_id": alert["id"], "type": alert["type"]})
    return sent

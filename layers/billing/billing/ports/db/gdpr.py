"""What the service holds about a person, for export and erasure."""
from __future__ import annotations

from datetime import date
from typing import Any

from . import Tx, customers


def record_consent(tx: Tx, user_id: str, purpose: str, granted: bool, source: str) -> dict[str, Any]:
    return tx.one(
        "INSERT INTO gdpr_consents (user_id, purpose, granted, source) VALUES (CAST(:u AS uuid), :p, :g, :s)"
        " RETURNING id::text AS id, purpose, granted, source, recorded_at",
        u=user_id, p=purpose, g=granted, s=source,
    )


def held(tx: Tx, user_id: str) -> dict[str, Any]:
    """Every row about the person, by table (the raw usage events summarised by day and month)."""
    u = {"u": user_id}
    return {
        "user": tx.one("SELECT id::text AS id, created_at, deleted_at FROM users WHERE id = CAST(:u AS uuid)", **u),
        "profile": customers.get_profile(tx, user_id),
        "subscriptions": tx.all("SELECT plan_code, interval::text AS interval, status::text AS status, started_on,"
                                " ended_on, auto_renew FROM subscriptions WHERE user_id = CAST(:u AS uuid)"
                                " ORDER BY started_on", **u),
        "usage_by_day": tx.all("SELECT day, requests FROM usage_daily WHERE user_id = CAST(:u AS uuid) ORDER BY day",
                               **u),
        "usage_by_month": tx.all("SELECT month, requests FROM usage_monthly WHERE user_id = CAST(:u AS uuid)"
                                 " ORDER BY month", **u),
        "usage_events": tx.value("SELECT count(*) FROM usage_logs WHERE user_id = CAST(:u AS uuid)", **u),
        "credits": tx.all("SELECT id::text AS id, type::text AS type, amount_minor, currency, reason, expires_on,"
                          " created_at FROM credits WHERE user_id = CAST(:u AS uuid) ORDER BY created_at", **u),
        "alerts": tx.all("SELECT type::text AS type, message, created_at FROM billing_alerts"
                         " WHERE user_id = CAST(:u AS uuid) ORDER BY created_at", **u),
        "consents": tx.all("SELECT purpose, granted, source, recorded_at FROM gdpr_consents"
                           " WHERE user_id = CAST(:u AS uuid) ORDER BY recorded_at", **u),
        "api_keys": tx.all("SELECT prefix, created_at, revoked_at FROM api_keys WHERE user_id = CAST(:u AS uuid)", **u),
    }


def invoice_ids(tx: Tx, user_id: str) -> list[str]:
    return [r[0] for r in tx.con.run(
        "SELECT id::text FROM invoices WHERE user_id = CAST(:u AS uuid) ORDER BY created_at", u=user_id)]


def erase(tx: Tx, user_id: str, pseudonym: str) -> dict[str, int]:
    """Removes what no law requires us to keep; returns rows affected per table. Issued invoices (with their
    frozen buyer identity), their items, payments, credit notes and the credits applied to them stay."""
    u = {"u": user_id}
    drafts = "SELECT id FROM invoices WHERE user_id = CAST(:u AS uuid) AND number IS NULL"
    done = {
        "draft_items": tx.execute(f"DELETE FROM invoice_items WHERE invoice_id IN ({drafts})", **u),
        "draft_applications": tx.execute(f"DELETE FROM credit_applications WHERE invoice_id IN ({drafts})", **u),
        "draft_alerts": tx.execute(f"DELETE FROM billing_alerts WHERE invoice_id IN ({drafts})", **u),
        "drafts": tx.execute("DELETE FROM invoices WHERE user_id = CAST(:u AS uuid) AND number IS NULL", **u),
        "alerts": tx.execute("DELETE FROM billing_alerts WHERE user_id = CAST(:u AS uuid)", **u),
        "unused_credits": tx.execute(
            "DELETE FROM credits c WHERE c.user_id = CAST(:u AS uuid)"
            " AND NOT EXISTS (SELECT 1 FROM credit_applications a WHERE a.credit_id = c.id)", **u),
        "usage_events": tx.execute("DELETE FROM usage_logs WHERE user_id = CAST(:u AS uuid)", **u),
        "usage_days": tx.execute("DELETE FROM usage_daily WHERE user_id = CAST(:u AS uuid)", **u),
        "usage_months": tx.execute("DELETE FROM usage_monthly WHERE user_id = CAST(:u AS uuid)", **u),
        "api_keys": tx.execute("DELETE FROM api_keys WHERE user_id = CAST(:u AS uuid)", **u),
        "subscriptions_ended": tx.execute(
            "UPDATE subscriptions SET status = 'CANCELLED', ended_on = LEAST(COALESCE(ended_on, CURRENT_DATE),"
            " CURRENT_DATE) WHERE user_id = CAST(:u AS uuid) AND (ended_on IS NULL OR ended_on > CURRENT_DATE)", **u),
        # The profile is pseudonymised, not deleted: issued invoices and subscriptions still point at the user.
        "profile": tx.execute(
            "UPDATE user_profiles SET name = :p, email = :p || '@erased.invalid', address_line1 = '-',"
            " address_line2 = NULL, postal_code = '-', city = '-', phone = NULL, vat_number = NULL, siren = NULL,"
            " search_tokens = '{}', updated_at = now() WHERE user_id = CAST(:u AS uuid)", p=pseudonym, **u),
        "user": tx.execute("UPDATE users SET deleted_at = now() WHERE id = CAST(:u AS uuid) AND deleted_at IS NULL",
                           **u),
    }
    return done


def past_retention(tx: Tx, issued_before: date, limit: int) -> list[dict[str, Any]]:
    return tx.all(
        "SELECT id::text AS id, user_id::text AS user_id, pdf_key FROM invoices WHERE number IS NOT NULL"
        " AND purged_at IS NULL AND issue_date < :before ORDER BY issue_date LIMIT :l",
        before=issued_before, l=limit,
    )


def mark_purged(tx: Tx, invoice_id: str) -> None:
    tx.execute("UPDATE invoices SET buyer = '{\"purged\": true}'::jsonb, pdf_key = NULL, purged_at = now()"
               " WHERE id = CAST(:i AS uuid)", i=invoice_id)

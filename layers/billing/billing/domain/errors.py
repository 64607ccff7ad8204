"""Typed failures with stable codes; billing.api.errors maps them to problem+json once."""
from __future__ import annotations


class BillingError(Exception):
    code = "billing_error"
    status = 400
    title = "Request failed"

    headers: dict[str, str] = {}

    def __init__(self, detail: str = "", **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class InvalidRequest(BillingError):
    code, title = "invalid_request", "The request is not valid"

    def __init__(self, detail: str = "", *, code: str | None = None, **extra: object) -> None:
        super().__init__(detail, **extra)
        if code:
            self.code = code


class InvalidJson(BillingError):
    code, title = "invalid_json", "The body is not valid JSON"


class InvalidUserId(BillingError):
    code, title = "invalid_user_id", "The user id is not a valid UUID"


class InvalidInvoiceId(BillingError):
    code, title = "invalid_invoice_id", "The invoice id is not a valid UUID"


class InvalidPeriod(BillingError):
    code, title = "invalid_period", "The billing period is not valid"


class InvalidPlan(BillingError):
    code, title = "invalid_plan", "Unknown plan"


class UnsupportedCurrency(BillingError):
    code, title = "unsupported_currency", "The currency is not supported for this plan"


class UnknownUser(BillingError):
    code, title = "unknown_user", "No customer with this id"
    status = 404


class PayloadTooLarge(BillingError):
    code, title, status = "payload_too_large", "The request body is too large", 413


class Unauthorized(BillingError):
    code, title, status = "unauthorized", "A valid bearer token is required", 401


class RateLimited(BillingError):
    code, title, status = "rate_limited", "Too many requests", 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Try again in {retry_after} s", retryAfter=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class Forbidden(BillingError):
    code, title, status = "forbidden", "Not allowed for this caller", 403


class InvoiceNotFound(BillingError):
    code, title, status = "invoice_not_found", "No such invoice", 404


class CustomerNotFound(BillingError):
    code, title, status = "customer_not_found", "No billing profile for this user", 404


class NoActiveSubscription(BillingError):
    code, title, status = "no_subscription", "The customer has no subscription for this period", 409


class InvoiceExists(BillingError):
    code, title, status = "invoice_exists", "An invoice already exists for this customer and period", 409

    def __init__(self, invoice_id: str) -> None:
        super().__init__(f"Invoice {invoice_id} already covers this period", invoiceId=invoice_id)
        self.invoice_id = invoice_id


class PeriodOverlap(BillingError):
    code, title, status = "period_overlap", "Another invoice already covers part of this period", 409

    def __init__(self, invoice_id: str) -> None:
        super().__init__(f"Invoice {invoice_id} covers part of this period", invoiceId=invoice_id)


class InvalidTransition(BillingError):
    code, title, status = "invalid_transition", "This status change is not allowed", 409

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"Cannot move an invoice from {current} to {target}", **{"from": current, "to": target})


class InvoiceImmutable(BillingError):
    code, title, status = "invoice_immutable", "An issued invoice cannot be edited", 409


class InvoiceNotPayable(BillingError):
    code, title, status = "invoice_not_payable", "This invoice cannot take payments", 409


class CurrencyMismatch(BillingError):
    code, title = "currency_mismatch", "The currency does not match"


class EmailFailed(BillingError):
    code, title, status = "email_failed", "The e-mail could not be delivered", 502


class DocumentNotReady(BillingError):
    code, title, status = "document_not_ready", "The invoice PDF is not stored yet", 409


class DependencyUnavailable(BillingError):
    code, title, status = "dependency_unavailable", "A dependency is unavailable", 503

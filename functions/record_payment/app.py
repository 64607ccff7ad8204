"""POST /billing/invoices/{id}/payments (admin): 201 new payment, 200 when that provider transaction is known."""
from billing.api.http import body, caller, invoice_id, json_response, logger, make_app
from billing.api.models import PaymentIn, PaymentOut
from billing.services.payments.record import record_payment

app = make_app()


@app.post("/billing/invoices/<id>/payments")
def post_payment(id: str):  # noqa: A002 - the path parameter's name
    caller(app).require_admin()
    payment, created = record_payment(invoice_id(id), body(app, PaymentIn).to_domain())
    return json_response(201 if created else 200, PaymentOut.from_row(payment))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

"""GET /billing/invoices/{id}: one invoice with its items and document; 404 for anyone but its owner or an admin."""
from billing.api.http import caller, json_response, logger, make_app, invoice_id
from billing.api.models import InvoiceOut
from billing.services.invoices.query import get_invoice

app = make_app()


@app.get("/billing/invoices/<id>")
def get_one(id: str):  # noqa: A002 - the path parameter's name
    return json_response(200, InvoiceOut.from_row(get_invoice(caller(app), invoice_id(id))))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

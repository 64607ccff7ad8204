"""POST /billing/invoices/{id}/send: e-mail the invoice now (a DRAFT is issued first); 502 if the mail fails."""
from billing.api.http import caller, invoice_id, json_response, logger, make_app
from billing.api.models import InvoiceOut
from billing.services.invoices.send import send_invoice

app = make_app()


@app.post("/billing/invoices/<id>/send")
def post_send(id: str):  # noqa: A002 - the path parameter's name
    return json_response(202, InvoiceOut.from_row(send_invoice(caller(app), invoice_id(id))))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

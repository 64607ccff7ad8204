"""PATCH /billing/invoices/{id} (admin): move the status (issue, mark paid/overdue, cancel), edit a DRAFT."""
from billing.api.http import body, caller, invoice_id, json_response, logger, make_app
from billing.api.models import InvoiceOut, InvoicePatchIn
from billing.services.invoices.update import update_invoice

app = make_app()


@app.patch("/billing/invoices/<id>")
def patch_invoice(id: str):  # noqa: A002 - the path parameter's name
    caller(app).require_admin()
    target, data = invoice_id(id), body(app, InvoicePatchIn)
    edits = {name: getattr(data, name) for name in ("due_date", "notes") if name in data.model_fields_set}
    return json_response(200, InvoiceOut.from_row(update_invoice(target, status=data.status, **edits)))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

"""POST /billing/invoices: compute one customer's invoice for a period; issue it (number, PDF) unless finalize=false."""
from billing.api.http import body, caller, json_response, logger, make_app
from billing.api.models import InvoiceCreateIn, InvoiceOut
from billing.services.invoices.generate import generate_invoice

app = make_app()


@app.post("/billing/invoices")
def post_invoice():
    who, data = caller(app), body(app, InvoiceCreateIn)
    user_id, period = who.acting_for(data.user_id and str(data.user_id)), data.period.to_domain()
    if period.type != "monthly":
        who.require_admin()  # customers invoice calendar months only
    invoice = generate_invoice(user_id, period, send_requested=data.send_immediately, finalize=data.finalize)
    return json_response(201, InvoiceOut.from_row(invoice), headers={"Location": f"/billing/invoices/{invoice['id']}"})


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

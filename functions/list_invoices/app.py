"""GET /billing/invoices: a page of invoices, newest first; customers see their own, admins anyone's."""
from billing.api.http import caller, json_response, logger, make_app
from billing.api.models import InvoiceListQuery, InvoiceOut, InvoicePage
from billing.services.invoices.query import list_invoices

app = make_app()


@app.get("/billing/invoices")
def get_invoices():
    who, query = caller(app), InvoiceListQuery.model_validate(app.current_event.query_string_parameters or {})
    rows, cursor = list_invoices(who, user_id=query.user_id and str(query.user_id), status=query.status,
                                 limit=query.limit, cursor=query.cursor)
    return json_response(200, InvoicePage(items=[InvoiceOut.from_row(r) for r in rows], next_cursor=cursor))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

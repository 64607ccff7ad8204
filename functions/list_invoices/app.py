"""GET /billing/invoices: a page of invoices, newest first; customers see their own, admins anyone's."""
from billing.api.http import caller, json_response, logger, make_app, query
from billing.api.models import InvoiceListQuery, InvoicePage
from billing.services.invoices.query import list_invoices

app = make_app()


@app.get("/billing/invoices")
def get_invoices():
    who, params = caller(app), query(app, InvoiceListQuery)
    items, cursor = list_invoices(who, user_id=params.user_id and str(params.user_id), status=params.status,
                                  limit=params.limit, cursor=params.cursor, render=InvoicePage.items_json,
                                  shape=InvoicePage.items_shape())
    return json_response(200, InvoicePage.page_json(items, cursor))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

"""GET /billing/invoices/{id}/pdf: 302 to a presigned URL of the stored PDF (15 minutes)."""
from aws_lambda_powertools.event_handler import Response

from billing.api.http import caller, logger, make_app, path_invoice_id
from billing.services.invoices.query import pdf_download_url

app = make_app()


@app.get("/billing/invoices/<id>/pdf")
def get_pdf():
    url = pdf_download_url(caller(app), path_invoice_id(app))
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

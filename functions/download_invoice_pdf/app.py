"""GET /billing/invoices/{id}/pdf: 302 to a presigned URL of the stored PDF (15 minutes)."""
from aws_lambda_powertools.event_handler import Response

from billing.api.http import caller, logger, make_app, invoice_id
from billing.services.invoices.query import pdf_download_url

app = make_app()


@app.get("/billing/invoices/<id>/pdf")
def get_pdf(id: str):  # noqa: A002 - the path parameter's name
    url = pdf_download_url(caller(app), invoice_id(id))
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"}, body="")


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

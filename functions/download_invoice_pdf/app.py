"""GET /billing/invoices/{id}/pdf: 302 to a presigned URL (15 minutes); a DRAFT's preview is rendered inline."""
from aws_lambda_powertools.event_handler import Response

from billing.api.http import caller, invoice_id, logger, make_app
from billing.services.invoices.query import pdf_download

app = make_app()


@app.get("/billing/invoices/<id>/pdf")
def get_pdf(id: str):  # noqa: A002 - the path parameter's name
    kind, result = pdf_download(caller(app), invoice_id(id))
    if kind == "preview":
        return Response(status_code=200, content_type="application/pdf", body=result,
                        headers={"Content-Disposition": 'inline; filename="draft.pdf"', "Cache-Control": "no-store"})
    return Response(status_code=302, headers={"Location": result, "Cache-Control": "no-store"}, body="")


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

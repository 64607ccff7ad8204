"""GET /billing/invoices/{id}/pdf[?expiresIn=]: 302 to a presigned URL (default 900 s, at most 3600);
a DRAFT's preview, or the PDF itself when the document store is down, comes back inline."""
from aws_lambda_powertools.event_handler import Response

from billing.api.http import caller, invoice_id, logger, make_app, query
from billing.api.models import PdfQuery
from billing.services.invoices.query import pdf_download

app = make_app()


@app.get("/billing/invoices/<id>/pdf")
def get_pdf(id: str):  # noqa: A002 - the path parameter's name
    who, params = caller(app), query(app, PdfQuery)
    kind, result = pdf_download(who, invoice_id(id), expires_in=params.expires_in)
    if kind == "redirect":
        return Response(status_code=302, headers={"Location": result, "Cache-Control": "no-store"}, body="")
    name = "draft.pdf" if kind == "preview" else "invoice.pdf"
    return Response(status_code=200, content_type="application/pdf", body=result,
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

"""GET /billing/users/{id}/export (owner, admin): everything held about the person, as JSON, with PDF links."""
import json

from aws_lambda_powertools.event_handler import Response

from billing.api.http import caller, logger, make_app, user_id
from billing.services.gdpr.rights import export_user

app = make_app()


@app.get("/billing/users/<id>/export")
def get_export(id: str):  # noqa: A002 - the path parameter's name
    data = export_user(caller(app), user_id(id))
    return Response(status_code=200, content_type="application/json", body=json.dumps(data, default=str),
                    headers={"Content-Disposition": f'attachment; filename="twinmcp-billing-{id}.json"',
                             "Cache-Control": "no-store"})


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

"""DELETE /billing/users/{id} (owner, admin): erasure, keeping only what the law requires (issued invoices)."""
from billing.api.http import caller, json_response, logger, make_app, user_id
from billing.services.gdpr.rights import erase_user

app = make_app()


@app.delete("/billing/users/<id>")
def delete_user(id: str):  # noqa: A002 - the path parameter's name
    return json_response(200, erase_user(caller(app), user_id(id)))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

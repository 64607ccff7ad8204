"""POST /billing/users/{id}/consents (owner, admin): record a consent given or withdrawn, with its source."""
from billing.api.http import body, caller, json_response, logger, make_app, user_id
from billing.api.models import ConsentIn, ConsentOut
from billing.services.gdpr.rights import record_consent

app = make_app()


@app.post("/billing/users/<id>/consents")
def post_consent(id: str):  # noqa: A002 - the path parameter's name
    who, data = caller(app), body(app, ConsentIn)
    consent = record_consent(who, user_id(id), data.purpose, data.granted, data.source)
    return json_response(201, ConsentOut(**consent))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

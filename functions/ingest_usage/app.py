"""POST /billing/usage: record up to 1,000 usage events in one statement (admin or service)."""
from billing.api.http import body, caller, json_response, logger, make_app
from billing.api.models import UsageIn, UsageOut
from billing.services.usage.ingest import ingest_usage

app = make_app()


@app.post("/billing/usage")
def post_usage():
    caller(app).require_admin()
    result = ingest_usage(body(app, UsageIn).to_domain())
    return json_response(202, UsageOut(accepted=result.accepted, duplicates=result.duplicates))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

"""GET /billing/openapi.json: the OpenAPI document, generated from the request and response models."""
from billing.api.http import json_response, logger, make_app
from billing.api.openapi import document

app = make_app()


@app.get("/billing/openapi.json")
def get_document():
    return json_response(200, document())


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

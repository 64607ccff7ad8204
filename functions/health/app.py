"""GET /billing/health: each dependency's state; 503 when one is down. No token needed."""
from billing.api.http import json_response, logger, make_app
from billing.services.health import check_health

app = make_app()


@app.get("/billing/health")
def get_health():
    report = check_health()
    healthy = all(dep["status"] == "up" for dep in report.values())
    return json_response(200 if healthy else 503, {"status": "ok" if healthy else "degraded", "dependencies": report})


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

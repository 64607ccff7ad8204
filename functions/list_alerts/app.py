"""GET /billing/alerts: the caller's billing alerts, newest first (admins: everyone's, or ?userId=)."""
from billing.api.http import caller, json_response, logger, make_app, query
from billing.api.models import AlertList, AlertOut, AlertQuery
from billing.services.alerts.query import list_alerts

app = make_app()


@app.get("/billing/alerts")
def get_alerts():
    who, params = caller(app), query(app, AlertQuery)
    rows = list_alerts(who, user_id=params.user_id and str(params.user_id))
    return json_response(200, AlertList(items=[AlertOut(**row) for row in rows]))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

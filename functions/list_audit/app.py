"""GET /billing/audit?target= (admin): the audit trail of one record, newest first."""
from billing.api.http import caller, json_response, logger, make_app, query
from billing.api.models import AuditList, AuditOut, AuditQuery
from billing.services.audit import trail

app = make_app()


@app.get("/billing/audit")
def get_audit():
    caller(app).require_admin()
    rows = trail(query(app, AuditQuery).target)
    return json_response(200, AuditList(items=[AuditOut.from_row(r) for r in rows]))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

"""GET /billing/storage/stats[?userId=] (admin): files, bytes and average size of the stored documents."""
from billing.api.http import caller, json_response, logger, make_app, query
from billing.api.models import StorageStatsOut, StorageStatsQuery
from billing.services.storage.stats import storage_stats

app = make_app()


@app.get("/billing/storage/stats")
def get_stats():
    caller(app).require_admin()
    params = query(app, StorageStatsQuery)
    return json_response(200, StorageStatsOut(**storage_stats(params.user_id and str(params.user_id))))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

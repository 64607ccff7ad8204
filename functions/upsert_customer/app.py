"""PUT /billing/customers/{userId}: create or update a customer and their subscription (admin)."""
from billing.api.http import body, caller, json_response, logger, make_app, path_user_id
from billing.api.models import CustomerIn, CustomerOut
from billing.services.customers.upsert import upsert_customer

app = make_app()


@app.put("/billing/customers/<userId>")
def put_customer():
    caller(app).require_admin()
    user_id, data = path_user_id(app), body(app, CustomerIn)
    return json_response(200, CustomerOut.from_view(upsert_customer(user_id, data.to_domain())))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

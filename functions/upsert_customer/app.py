"""PUT /billing/customers/{userId}: create or update a customer and their subscription (admin)."""
from billing.api.http import body, caller, json_response, logger, make_app, user_id
from billing.api.models import CustomerIn, CustomerOut
from billing.services.customers.upsert import upsert_customer

app = make_app()


@app.put("/billing/customers/<userId>")
def put_customer(userId: str):  # noqa: N803 - the path parameter's name
    caller(app).require_admin()
    customer_id, data = user_id(userId), body(app, CustomerIn)
    return json_response(200, CustomerOut.from_view(upsert_customer(customer_id, data.to_domain())))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

"""POST /billing/customers/{userId}/credits (admin): a credit applied to the customer's next issued invoices."""
from billing.api.http import body, caller, json_response, logger, make_app, user_id
from billing.api.models import CreditIn, CreditOut
from billing.services.credits.grant import grant_credit

app = make_app()


@app.post("/billing/customers/<userId>/credits")
def post_credit(userId: str):  # noqa: N803 - the path parameter's name
    caller(app).require_admin()
    customer, data = user_id(userId), body(app, CreditIn)
    return json_response(201, CreditOut.from_row(grant_credit(customer, data.to_domain())))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return app.resolve(event, context)

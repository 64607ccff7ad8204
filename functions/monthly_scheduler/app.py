"""EventBridge schedule, 02:00 on the 1st: one SQS message per customer billable for the previous month."""
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from billing.domain.period import Period
from billing.services.invoices.monthly_run import enqueue_month
from billing.services.audit import Actor, act_as
from billing.logs import service_logger

logger = service_logger()
ACTOR = Actor("system:monthly_scheduler")  # what this function does is audited under its name


@logger.inject_lambda_context(clear_state=True)
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context):
    act_as(ACTOR)
    period = Period.previous_month(event.time.date())  # the event's own time: a replay bills the same month
    return {"period": period.start.isoformat(), "queued": enqueue_month(period)}

"""EventBridge schedule, daily: overdue invoices (alert + reminder), yearly subscriptions expiring or expired."""
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from billing.services.schedules.daily import run_daily
from billing.services.audit import Actor, act_as
from billing.logs import service_logger

logger = service_logger()
ACTOR = Actor("system:daily_billing")  # what this function does is audited under its name


@logger.inject_lambda_context(clear_state=True)
@event_parser(model=EventBridgeModel)
def handler(event: EventBridgeModel, context):
    act_as(ACTOR)
    summary = run_daily(event.time.date())  # the schedule's own date, so a replayed event reruns that day
    logger.info("daily billing run", extra=summary)
    return summary

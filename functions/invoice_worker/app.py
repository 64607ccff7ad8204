"""SQS worker: issue one invoice per message; a failing customer is reported alone (partial batch failure)."""
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from billing.api.models import InvoiceJobIn
from billing.services.invoices.monthly_run import run_job
from billing.services.audit import Actor, act_as
from billing.logs import service_logger

logger = service_logger()
ACTOR = Actor("system:invoice_worker")  # what this function does is audited under its name
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> str:
    outcome = run_job(InvoiceJobIn.model_validate_json(record.body).to_domain())
    logger.info("invoice job", extra={"message_id": record.message_id, "outcome": outcome})
    return outcome


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    act_as(ACTOR)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

"""S3 ObjectCreated under invoices/: verify the PDF, record it on its invoice once, e-mail it once if asked."""
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3Model

from billing.services.invoices.document import record_stored_document
from billing.services.audit import Actor, act_as
from billing.logs import service_logger

logger = service_logger()
ACTOR = Actor("system:on_pdf_stored")  # what this function does is audited under its name


@logger.inject_lambda_context(clear_state=True)
@event_parser(model=S3Model)
def handler(event: S3Model, context):
    act_as(ACTOR)
    outcomes = [record_stored_document(unquote_plus(r.s3.object.key)) for r in event.Records]
    logger.info("documents handled", extra={"outcomes": outcomes})
    return {"outcomes": outcomes}

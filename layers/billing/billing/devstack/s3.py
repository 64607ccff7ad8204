"""The embedded S3/SQS API (moto's server) and the bucket, queues and notification the stack needs."""
from __future__ import annotations

import json
from dataclasses import dataclass

import boto3
from botocore.config import Config

from billing.config import Settings

EVENTS_QUEUE = "twinmcp-pdf-events"


@dataclass
class Resources:
    queue_url: str
    dlq_url: str


def start_moto(port: int, host: str = "127.0.0.1"):
    import logging

    from moto.server import ThreadedMotoServer  # dev dependency, only here

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request otherwise

    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def client(cfg: Settings, service: str):
    return boto3.session.Session().client(
        service, endpoint_url=cfg.s3_endpoint_url, region_name=cfg.aws_region,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, s3={"addressing_style": "path"}),
    )


def provision(cfg: Settings) -> Resources:
    """Bucket (private, encrypted, versioned) and the queue its invoices/ ObjectCreated events go to."""
    s3, sqs = client(cfg, "s3"), client(cfg, "sqs")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if cfg.bucket not in existing:
        kwargs = {} if cfg.aws_region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": cfg.aws_region}}
        s3.create_bucket(Bucket=cfg.bucket, **kwargs)
    s3.put_public_access_block(Bucket=cfg.bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_versioning(Bucket=cfg.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=cfg.bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    dlq_url = sqs.create_queue(QueueName=f"{EVENTS_QUEUE}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=EVENTS_QUEUE, Attributes={
        "VisibilityTimeout": "10",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
    })["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=cfg.bucket, NotificationConfiguration={
        "QueueConfigurations": [{
            "Id": "invoice-pdf-created", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "invoices/"}]}},
        }],
    })
    return Resources(queue_url=queue_url, dlq_url=dlq_url)


def provision_queues(cfg: Settings, template: dict) -> dict[str, dict[str, str]]:
    """Every AWS::SQS::Queue of the template, named by its logical id, with its redrive policy;
    returns {logical id: {"url", "arn"}}."""
    sqs = client(cfg, "sqs")
    resources = {name: r for name, r in (template.get("Resources") or {}).items() if r.get("Type") == "AWS::SQS::Queue"}
    made: dict[str, dict[str, str]] = {}

    def make(name: str) -> dict[str, str]:
        if name in made:
            return made[name]
        props = resources[name].get("Properties") or {}
        attributes = {"VisibilityTimeout": "10"}  # seconds locally: failed jobs come back quickly
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": make(target)["arn"],
                                                      "maxReceiveCount": str(redrive["maxReceiveCount"])})
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        made[name] = {"url": url, "arn": arn}
        return made[name]

    for name in resources:
        make(name)
    return made

"""Session infrastructure for integration and e2e tests: real PostgreSQL and Redis (found or started),
a fresh test database, moto's server as the S3/SQS API, and an SMTP sink writing .eml files."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT

# Parallel runs on one PostgreSQL (two checkouts, helpers) each name their own: the session drops and recreates it.
TEST_DATABASE = os.environ.get("BILLING_TEST_DATABASE", "billing_test")


@dataclass
class Infra:
    database_url: str
    admin_database_url: str
    redis_url: str
    s3_endpoint_url: str
    mail_dir: Path
    queue_url: str
    queues: dict[str, dict[str, str]]


@pytest.fixture(scope="session")
def infra(tmp_path_factory) -> Infra:
    from billing.config import settings
    from billing.devstack.s3 import provision, provision_queues, start_moto
    from billing.devstack.template import load_template
    from billing.devstack.services import ensure_services, free_port, recreate_database
    from billing.devstack.smtp import start_sink
    from billing.ports.db.migrate import migrate

    own = os.environ.get("BILLING_OWN_SERVICES") == "1"
    services = ensure_services(ROOT, TEST_DATABASE, own=own, log=lambda m: print(f"[infra] {m}"))
    recreate_database(services.admin_database_url, TEST_DATABASE)
    migrate(services.database_url, log=lambda _m: None)
    s3_port, smtp_port = free_port(), free_port()
    moto = start_moto(s3_port)
    mail_dir = tmp_path_factory.mktemp("mail")
    sink = start_sink(mail_dir, smtp_port)
    saved = dict(os.environ)
    os.environ.update({
        "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url,
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}", "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "eu-west-3", "STORAGE_PROVIDER": "s3",
        "S3_BUCKET_NAME": "twinmcp-docs", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port),
        "POWERTOOLS_LOG_LEVEL": "WARNING", "TAX_RATE": "0.20", "DUE_DAYS": "30",
    })
    settings.cache_clear()
    from billing.ports import cache

    cache.clear_namespace()  # the test database is new: so is its cache
    resources = provision(settings())
    queues = provision_queues(settings(), load_template(ROOT / "template.yaml"))
    os.environ.update(SQS_ENDPOINT_URL=os.environ["S3_ENDPOINT_URL"],
                      INVOICE_JOBS_QUEUE_URL=queues["InvoiceJobsQueue"]["url"])
    settings.cache_clear()
    yield Infra(services.database_url, services.admin_database_url, services.redis_url,
                os.environ["S3_ENDPOINT_URL"], mail_dir, resources.queue_url, queues)
    sink.stop()
    moto.stop()
    _reset_singletons()
    os.environ.clear()
    os.environ.update(saved)
    settings.cache_clear()
    services.stop()


def _reset_singletons() -> None:
    import billing.ports.cache as cache
    import billing.ports.db as db
    import billing.ports.queue as queue
    import billing.ports.storage as storage

    if db._default is not None:
        db._default.close()
    db._default, storage._default, cache._client, queue._client = None, None, None, None

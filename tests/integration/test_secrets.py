"""billing.ports.secrets against moto's Secrets Manager server: the URL, the proxy host, one call per container."""
from __future__ import annotations

import json

import boto3
import pg8000.exceptions
import pytest

from billing.devstack.s3 import start_moto
from billing.devstack.services import free_port
from billing.domain.errors import DependencyUnavailable
from billing.ports.db import Database, connect_kwargs
from billing.ports.secrets import database_url_from_secret, refreshed_database_url_from_secret, secret_database_url
from tests.support import throwaway_postgres

SECRET = {"engine": "postgres", "username": "billing_app", "password": "s3cr:et/@", "host": "db.internal",
          "port": 5432, "dbname": "billing"}


@pytest.fixture(scope="module")
def secrets_endpoint():
    port = free_port()
    server = start_moto(port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def secrets(secrets_endpoint, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets_endpoint)
    monkeypatch.delenv("DATABASE_HOST", raising=False)
    secret_database_url.cache_clear()
    yield boto3.client("secretsmanager", endpoint_url=secrets_endpoint, region_name="eu-west-3")
    secret_database_url.cache_clear()


def _create(client, name: str, value: dict) -> str:
    return client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]


def test_url_comes_from_the_secret_named_by_database_secret_arn(secrets, monkeypatch):
    monkeypatch.setenv("DATABASE_SECRET_ARN", _create(secrets, "billing/url", SECRET))
    kwargs = connect_kwargs(database_url_from_secret())
    assert (kwargs["user"], kwargs["password"], kwargs["host"]) == ("billing_app", "s3cr:et/@", "db.internal")


def test_database_host_points_the_url_at_the_proxy(secrets, monkeypatch):
    monkeypatch.setenv("DATABASE_SECRET_ARN", _create(secrets, "billing/proxy", SECRET))
    monkeypatch.setenv("DATABASE_HOST", "twinmcp-billing.proxy-abc.eu-west-3.rds.amazonaws.com")
    assert connect_kwargs(database_url_from_secret())["host"].startswith("twinmcp-billing.proxy-")


def test_warm_invocations_reuse_the_url_without_calling_secrets_manager(secrets, monkeypatch):
    arn = _create(secrets, "billing/cached", SECRET)
    monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
    first = database_url_from_secret()
    secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert database_url_from_secret() == first  # a second call would have failed: the secret is gone
    secret_database_url.cache_clear()  # what the pool does when the server refuses the password
    with pytest.raises(DependencyUnavailable):
        database_url_from_secret()


def test_unknown_secret_is_a_dependency_failure(secrets, monkeypatch):
    monkeypatch.setenv("DATABASE_SECRET_ARN", "arn:aws:secretsmanager:eu-west-3:123456789012:secret:missing-AbCdEf")
    with pytest.raises(DependencyUnavailable):
        database_url_from_secret()


@pytest.fixture(scope="module")
def password_server():
    """A PostgreSQL that checks passwords (scram-sha-256); its superuser `postgres` starts with `before`."""
    with throwaway_postgres("-A", "scram-sha-256", "--pwfile", "{dir}/pw", files={"pw": b"before\n"}) as port:
        yield port


def test_a_rotated_password_is_read_again_from_the_secret_without_a_cold_start(secrets, monkeypatch, password_server):
    secret = {"username": "postgres", "password": "before", "host": "127.0.0.1", "port": password_server,
              "dbname": "postgres"}
    arn = _create(secrets, "billing/rotated", secret)
    monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
    db = Database(database_url_from_secret(), refresh_url=refreshed_database_url_from_secret)
    stale = Database(database_url_from_secret())  # a pool that cannot read the secret again
    with db.transaction() as tx:
        tx.execute("ALTER ROLE postgres PASSWORD 'after'")  # the rotation: the database first, then the secret
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({**secret, "password": "after"}))
    db.close()  # the container's connection is gone (idle timeout): the next one logs in again

    assert db.run_alone("SELECT current_user") == "postgres"
    assert connect_kwargs(db.url)["password"] == "after"
    with pytest.raises(pg8000.exceptions.DatabaseError) as refused:
        stale.run_alone("SELECT 1")
    assert refused.value.args[0]["C"] == "28P01"
    db.close()

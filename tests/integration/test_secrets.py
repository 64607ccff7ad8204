"""billing.ports.secrets against moto's Secrets Manager server: the URL, the proxy host, one call per container."""
from __future__ import annotations

import json

import boto3
import pytest

from billing.devstack.s3 import start_moto
from billing.devstack.services import free_port
from billing.domain.errors import DependencyUnavailable
from billing.ports.db import connect_kwargs
from billing.ports.secrets import database_url_from_secret, secret_database_url

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
    secret_database_url.cache_clear()  # what a rotation-aware reconnect does
    with pytest.raises(DependencyUnavailable):
        database_url_from_secret()


def test_unknown_secret_is_a_dependency_failure(secrets, monkeypatch):
    monkeypatch.setenv("DATABASE_SECRET_ARN", "arn:aws:secretsmanager:eu-west-3:123456789012:secret:missing-AbCdEf")
    with pytest.raises(DependencyUnavailable):
        database_url_from_secret()

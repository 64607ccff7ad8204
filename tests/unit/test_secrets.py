"""The database URL built from an RDS-shaped Secrets Manager secret (billing.ports.secrets), without AWS."""
from __future__ import annotations

import pytest

from billing.domain.errors import DependencyUnavailable
from billing.ports.db import connect_kwargs
from billing.ports.secrets import database_url, database_url_from_secret

RDS_SECRET = {"engine": "postgres", "username": "billing_app", "password": "p@ss:w/rd?#%",
              "host": "db.internal", "port": 5433, "dbname": "billing"}


def test_secret_with_special_characters_round_trips_through_connect_kwargs():
    kwargs = connect_kwargs(database_url(RDS_SECRET))
    assert (kwargs["user"], kwargs["password"]) == ("billing_app", "p@ss:w/rd?#%")
    assert (kwargs["host"], kwargs["port"], kwargs["database"]) == ("db.internal", 5433, "billing")


def test_proxy_host_replaces_the_secrets_own_host():
    assert connect_kwargs(database_url(RDS_SECRET, host="proxy.internal"))["host"] == "proxy.internal"


def test_rds_managed_secret_without_host_port_or_dbname_uses_the_proxy_and_defaults():
    kwargs = connect_kwargs(database_url({"username": "postgres", "password": "x"}, host="proxy.internal"))
    assert (kwargs["host"], kwargs["port"], kwargs["database"]) == ("proxy.internal", 5432, "billing")


def test_secret_without_host_and_no_proxy_is_a_dependency_failure():
    with pytest.raises(DependencyUnavailable):
        database_url({"username": "postgres", "password": "x"})


def test_no_secret_arn_means_no_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DATABASE_SECRET_ARN", raising=False)
    assert database_url_from_secret() is None

"""The database URL built from an RDS-shaped Secrets Manager secret (billing.ports.secrets), without AWS."""
from __future__ import annotations

import ssl

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


def test_sslmode_verify_full_checks_the_certificate_and_the_name():
    context = connect_kwargs(database_url(RDS_SECRET, host="proxy.internal", sslmode="verify-full"))["ssl_context"]
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


@pytest.mark.parametrize("mode, verify, hostname", [("verify-ca", ssl.CERT_REQUIRED, False),
                                                    ("require", ssl.CERT_NONE, False)])
def test_weaker_sslmodes_check_less(mode, verify, hostname):
    context = connect_kwargs(f"postgresql://u@db.internal/billing?sslmode={mode}")["ssl_context"]
    assert (context.verify_mode, context.check_hostname) == (verify, hostname)


def test_sslmode_disable_never_asks_for_tls_and_no_sslmode_leaves_pg8000_preferring_it():
    assert connect_kwargs("postgresql://u@db.internal/billing?sslmode=disable")["ssl_context"] is False
    assert "ssl_context" not in connect_kwargs("postgresql://u@db.internal/billing")


def test_an_unknown_sslmode_is_refused():
    with pytest.raises(ValueError, match="sslmode"):
        connect_kwargs("postgresql://u@db.internal/billing?sslmode=allow-anything")

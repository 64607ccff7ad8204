"""The PostgreSQL URL from the Secrets Manager secret named by DATABASE_SECRET_ARN, read once per container."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from billing.domain.errors import DependencyUnavailable


def database_url_from_secret() -> str | None:
    """postgresql://… built from DATABASE_SECRET_ARN's secret, or None when that variable is unset.

    DATABASE_HOST, when set (template.yaml sets the RDS Proxy's endpoint), replaces the secret's host: RDS
    rotation keeps the secret pointing at the instance, while the functions must go through the proxy.
    """
    arn = os.environ.get("DATABASE_SECRET_ARN", "")
    if not arn:
        return None
    host, sslmode = os.environ.get("DATABASE_HOST") or None, os.environ.get("DATABASE_SSLMODE") or None
    return secret_database_url(arn, host, sslmode)


def refreshed_database_url_from_secret() -> str | None:
    """The secret read again, for a pool whose password the server refused (the secret was rotated)."""
    secret_database_url.cache_clear()
    return database_url_from_secret()


@lru_cache(maxsize=4)
def secret_database_url(arn: str, host: str | None = None, sslmode: str | None = None) -> str:
    """Cached per container: a warm invocation makes no Secrets Manager call. After a rotation, the pool
    (billing.ports.db) reads it again when the server refuses the password."""
    import boto3  # only where a secret is used: the local stack and the tests never pay for it here
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    # The region is the secret's own (arn:aws:secretsmanager:<region>:…); AWS_ENDPOINT_URL_SECRETS_MANAGER
    # points boto3 at LocalStack or moto.
    client = boto3.session.Session().client(
        "secretsmanager", region_name=arn.split(":")[3] or None,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10),
    )
    try:
        secret = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    except (BotoCoreError, ClientError, KeyError, ValueError) as exc:
        raise DependencyUnavailable(f"The database secret could not be read: {type(exc).__name__}") from exc
    return database_url(secret, host=host, sslmode=sslmode)


def database_url(secret: dict[str, Any], *, host: str | None = None, sslmode: str | None = None) -> str:
    """The URL of an RDS-shaped secret; billing.ports.db.connect_kwargs unquotes user and password and reads
    `sslmode` (DATABASE_SSLMODE; template.yaml sets verify-full for RDS Proxy)."""
    host = host or secret.get("host")
    if not secret.get("username") or not host:
        raise DependencyUnavailable("The database secret has no username or no host (set DATABASE_HOST)")
    credentials = quote(str(secret["username"]), safe="")
    if secret.get("password"):
        credentials += ":" + quote(str(secret["password"]), safe="")
    port = int(secret.get("port") or 5432)
    url = f"postgresql://{credentials}@{host}:{port}/{quote(str(secret.get('dbname') or 'billing'), safe='')}"
    return f"{url}?sslmode={quote(sslmode, safe='-')}" if sslmode else url

"""Typed settings, read once from the environment at cold start."""
from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from billing.ports.secrets import database_url_from_secret


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value != "" else default


@dataclass(frozen=True)
class Seller:
    name: str
    address_line1: str
    postal_code: str
    city: str
    country: str
    siren: str
    vat_number: str
    email: str
    iban: str
    logo_path: str | None = None  # PNG or SVG printed on documents


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    storage_provider: str  # s3 | minio
    s3_endpoint_url: str | None
    aws_region: str
    bucket: str
    s3_force_path_style: bool
    sqs_endpoint_url: str | None
    invoice_jobs_queue_url: str | None
    archive_after_days: int
    rate_limit_per_minute: int
    retention_years: int
    kms_key_id: str | None
    kms_endpoint_url: str | None
    local_key_file: str
    smtp_host: str
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    email_provider: str  # smtp | ses
    ses_endpoint_url: str | None
    mail_from: str
    tax_rate: Decimal
    due_days: int
    presign_seconds: int
    local_jwt_secret: str
    jwt_issuer: str
    jwt_audience: str
    seller: Seller
    einvoice_profile: str = "en16931"  # EINVOICE_PROFILE: en16931 (Factur-X PDFs) | none (plain PDFs)
    list_cache_seconds: int = 900  # LIST_CACHE_SECONDS: how long an invoice list page stays cached; 0 = not cached

    def __post_init__(self) -> None:
        if self.einvoice_profile not in ("en16931", "none"):
            raise ValueError("EINVOICE_PROFILE must be en16931 or none")
        if not 1 <= self.presign_seconds <= 3600:
            raise ValueError("PRESIGN_SECONDS must be between 1 and 3600 (a download link never lives over 1 h)")
        if not Decimal(0) <= self.tax_rate < Decimal(1):
            raise ValueError("TAX_RATE must be a fraction such as 0.20")

    @classmethod
    def from_env(cls) -> "Settings":
        provider = _env("STORAGE_PROVIDER", "s3").lower()
        bucket_var = "MINIO_BUCKET_NAME" if provider == "minio" else "S3_BUCKET_NAME"
        endpoint = os.environ.get("MINIO_ENDPOINT") if provider == "minio" else None
        endpoint = endpoint or os.environ.get("S3_ENDPOINT_URL") or None
        return cls(
            database_url=_env("DATABASE_URL", "") or database_url_from_secret()
            or "postgresql://postgres@127.0.0.1:5432/billing",
            redis_url=_env("REDIS_URL", "redis://127.0.0.1:6379/0"),
            storage_provider=provider,
            s3_endpoint_url=endpoint,
            aws_region=_env("AWS_REGION", _env("AWS_DEFAULT_REGION", "eu-west-3")),
            bucket=_env(bucket_var, "twinmcp-docs"),
            s3_force_path_style=provider == "minio" or _env("S3_FORCE_PATH_STYLE", "false") == "true",
            sqs_endpoint_url=os.environ.get("SQS_ENDPOINT_URL") or None,
            invoice_jobs_queue_url=os.environ.get("INVOICE_JOBS_QUEUE_URL") or None,
            archive_after_days=int(_env("ARCHIVE_AFTER_DAYS", "730")),
            rate_limit_per_minute=int(_env("RATE_LIMIT_PER_MINUTE", "120")),
            retention_years=int(_env("RETENTION_YEARS", "10")),
            kms_key_id=os.environ.get("KMS_KEY_ID") or None,
            kms_endpoint_url=os.environ.get("KMS_ENDPOINT_URL") or None,
            local_key_file=_env("LOCAL_KEY_FILE", ".local/keys/master.key"),
            smtp_host=_env("SMTP_HOST", "127.0.0.1"),
            smtp_port=int(_env("SMTP_PORT", "1025")),
            smtp_user=os.environ.get("SMTP_USER") or None,
            smtp_password=os.environ.get("SMTP_PASS") or None,
            email_provider=_env("EMAIL_PROVIDER", "smtp").lower(),
            ses_endpoint_url=os.environ.get("SES_ENDPOINT_URL") or None,
            mail_from=_env("INVOICE_EMAIL_FROM", _env("SMTP_FROM", _env("MAIL_FROM", "billing@twinmcp.example"))),
            tax_rate=Decimal(_env("TAX_RATE", "0.20")),
            due_days=int(_env("DUE_DAYS", "30")),
            presign_seconds=int(_env("PRESIGN_SECONDS", "900")),
            local_jwt_secret=_env("LOCAL_JWT_SECRET", "local-dev-secret"),
            jwt_issuer=_env("JWT_ISSUER", "twinmcp-local"),
            jwt_audience=_env("JWT_AUDIENCE", "billing"),
            seller=Seller(
                name=_env("SELLER_NAME", "TwinMCP SAS"),
                address_line1=_env("SELLER_ADDRESS", "12 rue de la Paix"),
                postal_code=_env("SELLER_POSTAL_CODE", "75002"),
                city=_env("SELLER_CITY", "Paris"),
                country=_env("SELLER_COUNTRY", "FR"),
                siren=_env("SELLER_SIREN", "912345678"),
                vat_number=_env("SELLER_VAT_NUMBER", "FR32912345678"),
                email=_env("SELLER_EMAIL", "billing@twinmcp.example"),
                iban=_env("SELLER_IBAN", "FR7630006000011234567890189"),
                logo_path=os.environ.get("SELLER_LOGO_PATH") or None,
            ),
            einvoice_profile=_env("EINVOICE_PROFILE", "en16931").lower(),
            list_cache_seconds=int(_env("LIST_CACHE_SECONDS", "900")),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()

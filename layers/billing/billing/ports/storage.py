"""Invoice documents in S3 or MinIO through one boto3 adapter.

boto3 is imported when the first client is built, not with this module: it costs about 90 ms of a cold start,
and most functions that import this module (through the services) never reach S3 on most requests.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import quote

from billing.config import Settings, settings
from billing.domain.errors import DependencyUnavailable, InvalidRequest

MAX_PRESIGN_SECONDS = 3600


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str
    metadata: dict[str, str]
    body: bytes


def _errors() -> tuple[type[Exception], type[Exception]]:
    """(ClientError, BotoCoreError): botocore is loaded by then, since every call goes through a client."""
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


class Storage:
    def __init__(self, cfg: Settings) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = cfg.bucket
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=cfg.s3_endpoint_url,
            region_name=cfg.aws_region,
            config=Config(
                retries={"mode": "standard", "max_attempts": 3},
                s3={"addressing_style": "path" if cfg.s3_force_path_style or cfg.s3_endpoint_url else "auto"},
                signature_version="s3v4",
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def put(self, key: str, body: bytes, *, metadata: dict[str, str], tags: dict[str, str],
            content_type: str = "application/pdf") -> str:
        try:
            response = self._put(key, body, metadata, tags, content_type)
        except _errors() as exc:
            raise DependencyUnavailable(f"The document store refused {key}: {type(exc).__name__}") from exc
        return response["ETag"].strip('"')

    def _put(self, key: str, body: bytes, metadata: dict[str, str], tags: dict[str, str], content_type: str):
        return self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata=metadata,
            Tagging="&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in tags.items()),
        )  # encrypted by the bucket's default: SSE-KMS in template.yaml, SSE-S3 on the local stack

    def get(self, key: str) -> StoredObject:
        response = self.client.get_object(Bucket=self.bucket, Key=key)
        return StoredObject(
            key=key,
            size=response["ContentLength"],
            etag=response["ETag"].strip('"'),
            metadata=response.get("Metadata", {}),
            body=response["Body"].read(),
        )

    def exists(self, key: str) -> bool:
        """Raises DependencyUnavailable when the store does not answer."""
        client_error, botocore_error = _errors()
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except client_error as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise DependencyUnavailable(f"The document store failed: {type(exc).__name__}") from exc
        except botocore_error as exc:
            raise DependencyUnavailable(f"The document store is unreachable: {type(exc).__name__}") from exc

    def presigned_url(self, key: str, seconds: int, filename: str | None = None) -> str:
        if not 1 <= seconds <= MAX_PRESIGN_SECONDS:
            raise InvalidRequest(f"expiresIn is between 1 and {MAX_PRESIGN_SECONDS} seconds", code="invalid_expiry")
        params = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_keys(self, prefix: str) -> list[dict]:
        """Every object under the prefix, past the 1,000 keys of one ListObjectsV2 page."""
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found += [{"key": o["Key"], "size": o["Size"], "last_modified": o["LastModified"]}
                      for o in page.get("Contents", [])]
        return found

    def copy(self, source: str, target: str, *, storage_class: str, tags: dict[str, str]) -> None:
        """Server-side copy with the source's metadata, a new storage class and new tags."""
        self.client.copy_object(
            Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source},
            StorageClass=storage_class, MetadataDirective="COPY", TaggingDirective="REPLACE",
            Tagging="&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in tags.items()),
        )  # encrypted by the bucket's default: SSE-KMS in template.yaml, SSE-S3 on the local stack

    def health(self) -> str | None:
        """None when the bucket answers, otherwise a short reason."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return None
        except _errors() as exc:
            return type(exc).__name__


_default: Storage | None = None
_lock = threading.Lock()


def storage() -> Storage:
    global _default
    with _lock:
        if _default is None:
            _default = Storage(settings())
        return _default

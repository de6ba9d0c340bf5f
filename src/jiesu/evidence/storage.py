"""Where evidence files live: a small interface with a local-disk backend (the default, in the
data dir, so `jiesu backup` carries it) and an S3-compatible one (optional, boto3).

Keys are made by the service (``<request id>/<file id>.<ext>``), never taken from a sender, and
are checked against that shape before they touch a path or a bucket."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from jiesu.config import Settings
from jiesu.errors import ConfigError, JiesuError

ENTRY = "evidence"  # the data dir's folder (ops.backup.DATA_ENTRIES)
_KEY = re.compile(r"^[0-9]+/[0-9a-f]{32}(\.thumb)?\.(jpg|png|gif|webp|pdf)$")


class StoredFileMissing(JiesuError):
    status_code = 500


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not an evidence storage key: {key!r}")
    return key


class Storage(Protocol):
    name: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under ``<data dir>/evidence/``, each written whole or not at all."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StoredFileMissing(f"the stored file {key} is missing from {self.root}") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, MinIO, Ceph …) under an optional prefix."""

    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket = client, bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        if not settings.evidence_s3_bucket:
            raise ConfigError("JIESU_EVIDENCE_STORE=s3 needs JIESU_EVIDENCE_S3_BUCKET")
        try:
            import boto3  # optional: only an installation that stores in S3 needs it
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ConfigError("JIESU_EVIDENCE_STORE=s3 needs boto3: pip install boto3") from exc
        client = boto3.client(
            "s3",
            endpoint_url=settings.evidence_s3_endpoint or None,
            region_name=settings.evidence_s3_region or None,
            aws_access_key_id=settings.evidence_s3_access_key or None,
            aws_secret_access_key=settings.evidence_s3_secret_key or None,
        )
        return cls(client, settings.evidence_s3_bucket, settings.evidence_s3_prefix)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise StoredFileMissing(f"the stored object {key} is missing from the bucket") from exc
        body: bytes = answer["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


def storage_for(settings: Settings) -> Storage:
    if settings.evidence_store == "s3":
        return S3Storage.from_settings(settings)
    return LocalStorage(settings.data_dir / ENTRY)

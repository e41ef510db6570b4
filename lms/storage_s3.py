"""The object-store backend of lms/storage.py: any S3-compatible store (AWS S3, MinIO, Ceph, a cloud's S3 API).

``LMS_STORAGE_URL=s3://bucket/prefix`` keeps each file as the object ``prefix/<area>/<key>``.
``LMS_S3_ENDPOINT_URL`` points at a store other than AWS (path-style addressing then, as MinIO
and Ceph expect); ``LMS_S3_REGION`` its region. Credentials come the usual AWS way
(``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a profile, an instance role), never from
the app's settings.

* Every object carries its sha256 as user metadata (``x-amz-meta-sha256``), so ``storage
  migrate`` and checks can compare without downloading.
* ``put`` is one PUT (atomic: a reader sees the old object or the new one); ``put_file`` uses the
  transfer manager (multipart above 16 MB, the object appears only when the upload completes);
  ``put_new`` is a conditional PUT (``If-None-Match: *``), refused when the key is taken.
* ``open`` streams the body of a GET (never read whole), for downloads through the app.
* ``check`` (``/readyz``) is a HEAD of the bucket, then a tiny PUT and DELETE under
  ``prefix/.lms-check/``: it proves the credentials may write, not just that the bucket exists.
"""
from __future__ import annotations

import hashlib
import io
import secrets
import threading
from pathlib import Path
from typing import IO, Any, Iterator, Mapping

from .storage import Entry, NotStored, check_area, check_key, sha256_of

#: parts of a multipart upload (and the size from which put_file uses one)
MULTIPART_BYTES = 16 * 1024 * 1024


class S3Stream(io.RawIOBase):
    """The body of a GET as a binary stream, with the object's ``size``."""

    def __init__(self, body: Any, size: int) -> None:
        super().__init__()
        self._body = body
        self.size = size

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._body.read(None if size is None or size < 0 else size)

    def readall(self) -> bytes:
        return self._body.read()

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


_MISSING = {"404", "NoSuchKey", "NotFound"}

_session: Any = None
_session_lock = threading.Lock()


def _client(**kw: Any) -> Any:
    """An S3 client from one boto3 session per process (the first loads the service model, ~0.3 s; the
    next take milliseconds). Clients are thread-safe; making them is not, hence the lock."""
    global _session
    import boto3

    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client("s3", **kw)


class S3Storage:
    kind = "s3"
    #: objects per LIST request (S3 answers at most 1000)
    page_size = 1000
    #: put_file sends files from this size in parts of this size (S3's smallest part is 5 MB)
    multipart_bytes = MULTIPART_BYTES

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"

    @classmethod
    def from_url(cls, url: str, config: Mapping[str, Any]) -> "S3Storage":
        """``s3://bucket/prefix`` with the endpoint and region from the settings."""
        from botocore.config import Config

        rest = url[len("s3://"):] if url.startswith("s3://") else ""
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"LMS_STORAGE_URL: no bucket in {url!r} (use s3://bucket/prefix)")
        endpoint = (config.get("S3_ENDPOINT_URL") or "").strip() or None
        settings = Config(
            region_name=(config.get("S3_REGION") or "").strip() or None,
            s3={"addressing_style": "path"} if endpoint else {},
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=5, read_timeout=60, max_pool_connections=20)
        client = _client(endpoint_url=endpoint, config=settings)
        return cls(client, bucket, prefix)

    # --- names -------------------------------------------------------------------------------------
    def _base(self, area: str) -> str:
        check_area(area)
        return f"{self.prefix}/{area}/" if self.prefix else f"{area}/"

    def _name(self, area: str, key: str) -> str:
        return self._base(area) + check_key(key)

    # --- writing -----------------------------------------------------------------------------------
    def put(self, area: str, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(area, key), Body=data,
                               Metadata={"sha256": hashlib.sha256(data).hexdigest()})

    def put_new(self, area: str, key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._name(area, key), Body=data, IfNoneMatch="*",
                                   Metadata={"sha256": hashlib.sha256(data).hexdigest()})
        except ClientError as e:
            if _code(e) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            raise
        return True

    def put_file(self, area: str, key: str, source: Path) -> None:
        from boto3.s3.transfer import TransferConfig

        name = self._name(area, key)
        with open(source, "rb") as f:
            digest = sha256_of(f)
        self.client.upload_file(str(source), self.bucket, name, ExtraArgs={"Metadata": {"sha256": digest}},
                                Config=TransferConfig(multipart_threshold=self.multipart_bytes,
                                                      multipart_chunksize=self.multipart_bytes, max_concurrency=4))

    def delete(self, area: str, key: str) -> None:
        try:
            name = self._name(area, key)
        except NotStored:
            return
        self.client.delete_object(Bucket=self.bucket, Key=name)

    # --- reading -----------------------------------------------------------------------------------
    def _head(self, area: str, key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(area, key))  # type: ignore[no-any-return]
        except ClientError as e:
            if _code(e) in _MISSING:
                raise NotStored(key) from None
            raise

    def open(self, area: str, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self._name(area, key))
        except ClientError as e:
            if _code(e) in _MISSING:
                raise NotStored(key) from None
            raise
        return S3Stream(got["Body"], int(got["ContentLength"]))  # type: ignore[return-value]

    def get(self, area: str, key: str) -> bytes:
        with self.open(area, key) as f:
            return f.read()

    def exists(self, area: str, key: str) -> bool:
        try:
            self._head(area, key)
        except NotStored:
            return False
        return True

    def size(self, area: str, key: str) -> int:
        return int(self._head(area, key)["ContentLength"])

    def sha256(self, area: str, key: str) -> str:
        recorded = (self._head(area, key).get("Metadata") or {}).get("sha256")
        if recorded:
            return str(recorded)
        with self.open(area, key) as f:
            return sha256_of(f)

    def listing(self, area: str, prefix: str = "") -> Iterator[Entry]:
        base = self._base(area)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix,
                                                                          PaginationConfig={"PageSize": self.page_size})
        for page in pages:
            for obj in page.get("Contents", ()):
                yield Entry(obj["Key"][len(base):], int(obj["Size"]), obj["LastModified"].timestamp())

    def keys(self, area: str, prefix: str = "") -> Iterator[str]:
        return (e.key for e in self.listing(area, prefix))

    def local_path(self, area: str, key: str) -> Path | None:
        return None

    def check(self) -> None:
        """HEAD the bucket, then write and remove a tiny object: reachable, and writable with these credentials."""
        self.client.head_bucket(Bucket=self.bucket)
        name = f"{self.prefix}/.lms-check/{secrets.token_hex(8)}" if self.prefix else f".lms-check/{secrets.token_hex(8)}"
        self.client.put_object(Bucket=self.bucket, Key=name, Body=b"ok")
        self.client.delete_object(Bucket=self.bucket, Key=name)

"""The store on S3 (or any S3-compatible endpoint): marker objects last, views as manifest objects.

The client is boto3's, so the standard AWS environment variables apply (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
`AWS_PROFILE`, `AWS_DEFAULT_REGION`, ...), with 5 attempts per request in botocore's standard retry mode.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError

from synth_assets.core.store import FINGERPRINT_FILE, DirWriter, Rejected, Store
from synth_assets.core.store_local import swap_delay_s

VIEW_FORMAT = "synth-view/1"
MAX_ATTEMPTS = 5  # per request, as dagster-aws's S3Resource (the client this store used before) retries
VERSIONS, CURRENT = ".v", ".current"  # copy-on-write versions of an experiment folder, and the pointer to the live one


class S3StoreError(RuntimeError):
    """A misconfigured S3 store: missing bucket or credentials."""


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    rest = url[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise S3StoreError(f"{url!r} names no bucket (expected s3://bucket/prefix)")
    return bucket, prefix.strip("/")


def s3_client(client: Any = None) -> Any:
    if client is not None:
        return client
    return boto3.session.Session().client("s3", config=Config(retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"}))


class _S3Writer(DirWriter):
    def __init__(self, store: "S3Store", prefix: str):
        self.store, self.prefix, self.written = store, prefix, []

    def write_bytes(self, relative: str, data: bytes) -> None:
        key = f"{self.prefix}/{relative}"
        self.store.write_bytes(key, data)
        self.written.append(key)

    def read_bytes(self, relative: str) -> bytes:
        return self.store.read_bytes(f"{self.prefix}/{relative}")


class _Discard(DirWriter):
    """Writes nothing where the complete data is there already (reads that data)."""

    def __init__(self, store: "S3Store", prefix: str):
        self.store, self.prefix = store, prefix

    def write_bytes(self, relative: str, data: bytes) -> None:
        pass

    def read_bytes(self, relative: str) -> bytes:
        return self.store.read_bytes(f"{self.store.files_key_of(self.prefix)}/{relative}")


class S3Store(Store):
    """One store root at `s3://bucket/prefix`."""

    def __init__(self, url: str, client: Any = None):
        self.bucket, self.prefix = split_s3_url(url)
        self.root_uri = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self.client = s3_client(client)
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError:
            raise S3StoreError(
                f"no AWS credentials for bucket {self.bucket!r}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            ) from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            endpoint = self.client.meta.endpoint_url
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise S3StoreError(f"bucket {self.bucket!r} does not exist at {endpoint} (set AWS_ENDPOINT_URL for other endpoints)") from None
            raise S3StoreError(f"cannot access bucket {self.bucket!r} at {endpoint}: {code} {exc}") from None

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix and key else (self.prefix or key)

    def uri(self, key: str) -> str:
        return f"{self.root_uri}/{key}" if key else self.root_uri

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(self.uri(key)) from None
            raise

    def write_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def create_exclusive(self, key: str, data: bytes) -> bool:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                return False
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def _list(self, prefix: str, delimiter: str = "") -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        full = self._key(prefix).rstrip("/") + "/" if prefix or self.prefix else ""
        yield from paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter=delimiter)

    def delete_prefix(self, prefix: str) -> None:
        self.delete(f"{prefix}/{FINGERPRINT_FILE}")  # first, alone: a half-deleted directory must never look complete
        self._delete_keys(self._keys(prefix))

    def children(self, prefix: str) -> list[str]:
        names = set()
        for page in self._list(prefix, delimiter="/"):
            base = page.get("Prefix", "")
            names.update(p["Prefix"][len(base):].rstrip("/") for p in page.get("CommonPrefixes", []))
            names.update(o["Key"][len(base):] for o in page.get("Contents", []))
        return sorted(n for n in names if n)

    @contextlib.contextmanager
    def building(self, prefix: str, fingerprint: str, *, replace: bool = False) -> Iterator[DirWriter]:
        existing = self.fingerprint_at(prefix)
        if existing not in (None, fingerprint):
            raise FileExistsError(f"{self.uri(prefix)} holds another fingerprint; refusing to overwrite it")
        if existing == fingerprint and replace:
            with self._new_version(prefix, fingerprint) as writer:
                yield writer
            return
        if existing == fingerprint:  # complete already (same fingerprint = same data): never rewrite it
            yield _Discard(self, prefix)
            return
        writer = _S3Writer(self, prefix)
        try:
            yield writer
        except Rejected:  # kept without its marker, for inspection (see `Rejected`)
            raise
        except BaseException:
            # S3 has no rename: another process may have completed the same fingerprint meanwhile,
            # writing the same keys; its data must stay
            if self.fingerprint_at(prefix) != fingerprint:
                for key in writer.written:
                    self.delete(key)
            raise
        self.write_bytes(f"{prefix}/{FINGERPRINT_FILE}", (fingerprint + "\n").encode())

    @contextlib.contextmanager
    def _new_version(self, prefix: str, fingerprint: str) -> Iterator[DirWriter]:
        """Copy-on-write on S3 (no rename): the new copy goes under `{prefix}/{VERSIONS}/{id}/`, complete with its
        marker, then `{prefix}/{CURRENT}` switches to it in one PUT; readers follow it (`files_key`). The previous
        copy stays until the next replace (a reader part-way through it keeps reading); older ones are deleted."""
        previous = self.files_key_of(prefix)
        version = f"{prefix}/{VERSIONS}/{uuid.uuid4().hex[:12]}"
        try:
            with self.building(version, fingerprint) as writer:
                yield writer
        except Rejected:
            self._delete_keys(self._keys(version))  # the old data stays current
            raise
        time.sleep(swap_delay_s())
        self.write_bytes(f"{prefix}/{CURRENT}", version.rsplit("/", 1)[1].encode())
        versions = f"{prefix}/{VERSIONS}/"

        def kept(key: str) -> bool:
            if key in (f"{prefix}/{FINGERPRINT_FILE}", f"{prefix}/{CURRENT}") or key.startswith(version + "/"):
                return True
            return key.startswith(previous + "/") if previous != prefix else not key.startswith(versions)

        self._delete_keys([k for k in self._keys(prefix) if not kept(k)])

    def files_key_of(self, prefix: str) -> str:
        """Where an experiment's files are: `{prefix}`, or the version `{prefix}/{CURRENT}` names after a replace."""
        try:
            return f"{prefix}/{VERSIONS}/{self.read_bytes(f'{prefix}/{CURRENT}').decode().strip()}"
        except FileNotFoundError:
            return prefix

    def promote(self, source: str, prefix: str, fingerprint: str) -> None:
        """Copied into a new version of `prefix` (S3 has no rename), which becomes current in one PUT."""
        files = self.files_key_of(source)
        with self.building(prefix, fingerprint, replace=True) as out:
            for key in self._keys(files):
                relative = key[len(files) + 1:]
                if relative != FINGERPRINT_FILE and not relative.startswith(f"{VERSIONS}/"):
                    out.write_bytes(relative, self.read_bytes(key))
        self.delete_prefix(source)

    def clear_leftovers(self, prefix: str) -> None:
        """An incomplete directory (no marker) is a killed writer's: its objects go."""
        if self.fingerprint_at(prefix) is None:
            self._delete_keys(self._keys(prefix))

    def _keys(self, prefix: str) -> list[str]:
        return [obj["Key"][len(self.prefix) + 1:] if self.prefix else obj["Key"]
                for page in self._list(prefix) for obj in page.get("Contents", [])]

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": self._key(k)} for k in keys[start:start + 1000]]})

    def write_view(self, view_key: str, target_key: str, fingerprint: str) -> None:
        manifest = {"format": VIEW_FORMAT, "target": target_key, "target_uri": self.uri(target_key), "fingerprint": fingerprint}
        self.write_bytes(view_key, json.dumps(manifest, indent=2).encode())

    def read_view(self, view_key: str) -> str | None:
        try:
            manifest = json.loads(self.read_bytes(view_key))
        except (FileNotFoundError, ValueError):
            return None
        return manifest.get("target") if isinstance(manifest, dict) and manifest.get("format") == VIEW_FORMAT else None

    def relative_key(self, target: str | Path) -> str | None:
        text = str(target)
        if not text.startswith(self.root_uri + "/"):
            return None
        return text[len(self.root_uri) + 1:].rstrip("/")


def read_url(url: str, client: Any = None) -> bytes:
    """The bytes of a local file or an `s3://bucket/key` object."""
    if not url.startswith("s3://"):
        return Path(url).read_bytes()
    bucket, key = split_s3_url(url)
    try:
        return s3_client(client).get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
            raise FileNotFoundError(url) from None
        raise

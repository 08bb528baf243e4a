"""Drops in a local folder or under an S3 prefix, listed alike, and the one cursor scheme of every drop sensor.

The cursor maps each listed drop (its name under the folder or prefix) to its version: the ETag of an S3
object, the modification time and size of a local file. A drop is new when its name is not in the cursor
or its version changed, so drops sharing a timestamp, files moved in with an old modification time and
deleted drops are all handled the same way on both kinds of storage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth_assets.core.store_s3 import split_s3_url

ERROR_SUFFIX = ".error.txt"  # the marker beside a refused drop says what is wrong with it


@dataclass(frozen=True)
class Drop:
    name: str  # relative to the watched folder or prefix
    url: str  # a local path or an `s3://bucket/key` URL
    version: str


def _local_version(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{stat.st_mtime_ns}:{stat.st_size}".encode()).hexdigest()[:16]


def list_files(url: str, client: Any = None) -> list[Drop]:
    """Every file under a local folder or an S3 prefix (drops, error markers, anything else), by name."""
    if url.startswith("s3://"):
        bucket, prefix = split_s3_url(url)
        base = prefix + "/" if prefix else ""
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base)
        drops = [Drop(o["Key"][len(base):], f"s3://{bucket}/{o['Key']}", o["ETag"].strip('"'))
                 for page in pages for o in page.get("Contents", [])]
    else:
        folder = Path(url)
        drops = [Drop(p.name, str(p), _local_version(p)) for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    return sorted(drops, key=lambda d: d.name)


def split_listing(files: list[Drop], suffixes: tuple[str, ...]) -> tuple[list[Drop], set[str]]:
    """(the drops: files ending in one of `suffixes`, the names of files that have an error marker)."""
    marked = {f.name[: -len(ERROR_SUFFIX)] for f in files if f.name.endswith(ERROR_SUFFIX)}
    return [f for f in files if f.name.endswith(suffixes)], marked


def new_drops(drops: list[Drop], cursor: str | None) -> list[Drop]:
    """The drops not in the cursor, or in it with another version."""
    seen = json.loads(cursor) if cursor else {}
    return [d for d in drops if seen.get(d.name) != d.version]


def cursor_of(drops: list[Drop]) -> str:
    return json.dumps({d.name: d.version for d in drops}, sort_keys=True)


def mark_error(drop: Drop, message: str, client: Any = None) -> None:
    """`NAME.error.txt` beside a refused drop says what is wrong with it."""
    body = f"{message}\n".encode()
    if drop.url.startswith("s3://"):
        bucket, key = split_s3_url(drop.url)
        client.put_object(Bucket=bucket, Key=key + ERROR_SUFFIX, Body=body)
    else:
        Path(drop.url + ERROR_SUFFIX).write_bytes(body)


def clear_error(drop: Drop, client: Any = None) -> None:
    """A drop that is good now loses its error marker (called where one was listed)."""
    if drop.url.startswith("s3://"):
        bucket, key = split_s3_url(drop.url)
        client.delete_object(Bucket=bucket, Key=key + ERROR_SUFFIX)
    else:
        Path(drop.url + ERROR_SUFFIX).unlink(missing_ok=True)

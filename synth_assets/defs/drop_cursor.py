"""Sensor cursors over listed drops (S3 objects or local files): a timestamp plus the keys seen at it.

S3 timestamps have one-second resolution, so many drops share one: a `since_key` cursor would skip
them (and `get_objects` raises once that key is deleted), hence timestamp + keys.
"""

from __future__ import annotations

import datetime as dt
import json


def cursor_after(objects: list[dict], previous: dict) -> str:
    """The newest LastModified and every key listed at exactly that time."""
    if not objects:
        return json.dumps(previous)
    latest = max(o["LastModified"] for o in objects)
    return json.dumps({"last_modified": latest.isoformat(), "keys_at": sorted(o["Key"] for o in objects if o["LastModified"] == latest)})


def new_objects(objects: list[dict], cursor: dict) -> list[dict]:
    """Objects after the cursor's timestamp, plus unseen ones at exactly that timestamp."""
    since = dt.datetime.fromisoformat(cursor["last_modified"]) if cursor.get("last_modified") else None
    keys_at = set(cursor.get("keys_at", []))
    return [
        o for o in objects
        if since is None or o["LastModified"] > since or (o["LastModified"] == since and o["Key"] not in keys_at)
    ]

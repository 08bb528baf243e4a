"""Translation-judge drops: the sensor that turns each dropped `*.jsonl.out` into a partition."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from dagster import DefaultSensorStatus, Definitions, SensorEvaluationContext, SensorResult, sensor
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.sensor import get_objects

from resources.store import StoreResource
from synth_assets.core.drops import ERROR_SUFFIX, error_marker
from synth_assets.core.store_s3 import read_url, split_s3_url
from synth_assets.defs.drop_cursor import cursor_after, new_objects
from synth_assets.defs.recipes import run_requests
from synth_assets.recipes.translation_judge.drops import DROP_SUFFIX, load_judge_config, register_drop


def judge_drops_url(root_uri: str) -> str:
    """`$SYNTH_JUDGE_DROPS` (an `s3://` prefix or a local folder), else `{root}/judge_drops/`."""
    return (os.environ.get("SYNTH_JUDGE_DROPS") or f"{root_uri}/judge_drops").rstrip("/") + "/"


def _list_drops(url: str, client) -> list[dict]:
    """Drops under a prefix as `{Key, LastModified, ETag, url}`, from S3 or a local folder."""
    if url.startswith("s3://"):
        bucket, prefix = split_s3_url(url)
        objects = get_objects(bucket=bucket, prefix=prefix + "/", client=client)
        return [{**o, "url": f"s3://{bucket}/{o['Key']}"} for o in objects]
    folder = Path(url)
    return [
        {"Key": p.name, "url": str(p), "ETag": f"{p.stat().st_mtime_ns}-{p.stat().st_size}",
         "LastModified": dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc)}
        for p in sorted(folder.iterdir()) if p.is_file()
    ] if folder.is_dir() else []


def _reject(url: str, message: str, client) -> None:
    """An empty drop or an unknown format: reported beside it (`NAME.error.txt`)."""
    if client is not None:
        bucket, key = split_s3_url(url)
        client.put_object(Bucket=bucket, Key=key + ERROR_SUFFIX, Body=f"{message}\n".encode())
    else:
        error_marker(Path(url)).write_text(f"{message}\n", encoding="utf-8")


@sensor(minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED,
        description="Translation-judge outputs (*.jsonl.out) dropped under $SYNTH_JUDGE_DROPS (an s3:// prefix or a folder; "
                    "default {root}/judge_drops/): each drop becomes a translation_judge partition and a run.")
def judge_drop_sensor(context: SensorEvaluationContext, store: StoreResource, s3: S3Resource) -> SensorResult:
    s, lineage = store.store, store.lineage
    url = judge_drops_url(s.root_uri)
    client = s3.get_client() if url.startswith("s3://") else None
    cursor = json.loads(context.cursor) if context.cursor else {}
    objects = _list_drops(url, client)
    fresh = [o for o in new_objects(objects, cursor) if o["Key"].endswith(DROP_SUFFIX)]
    cfg = load_judge_config()
    registered = []
    with lineage.session():
        for obj in fresh:
            try:
                reg = register_drop(obj["url"], read_url(obj["url"], client), cfg, s, lineage)
            except ValueError as exc:
                context.log.error(f"rejected {obj['url']}: {exc}")
                _reject(obj["url"], str(exc), client)
                continue
            registered.append((reg, obj["ETag"].strip('"'), obj["url"]))
    found = f"watched {url}: {len(fresh)} new drops, {len(registered)} registered"
    context.log.info(found)
    requests = run_requests(context, registered)
    return SensorResult(run_requests=requests, cursor=cursor_after(objects, cursor), skip_reason=None if requests else found)


def definitions(root: str) -> Definitions:
    return Definitions(sensors=[judge_drop_sensor])

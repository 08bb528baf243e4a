"""Sensors on experiment-config drops: a local folder and an S3 prefix.

Each new or changed YAML is validated, fingerprinted and registered; new fingerprints become
dynamic partitions with a run request; fingerprints that are complete only get their batch view.
A bad file gets an error report beside it and the sensor keeps going.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dagster import (
    DefaultSensorStatus,
    MultiPartitionKey,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.sensor import get_objects

from resources.store import StoreResource
from synth_assets.core.drops import DropResult, process_drop
from synth_assets.recipes.translation_judge.drops import DROP_SUFFIX, load_judge_config, register_drop
from synth_assets.core.registry import RecordRegistration, Registration
from synth_assets.core.root import state_dir
from synth_assets.core.store_s3 import read_url, split_s3_url
from synth_assets.jobs import recipe_job_name
from synth_assets.cli.materialize import add_partitions

CONFIG_SUFFIXES = (".yaml", ".yml")
Registered = Registration | RecordRegistration
S3_WORKERS = 16


def drop_dir(root: Path) -> Path:
    """`$SYNTH_DROP_DIR`, else `{root}/drop`."""
    return Path(os.environ.get("SYNTH_DROP_DIR") or root / "drop")


def s3_configs_url(root_uri: str) -> str | None:
    """`$SYNTH_S3_CONFIGS`, else `{root}/configs/` for an S3 store root; None when neither applies."""
    url = os.environ.get("SYNTH_S3_CONFIGS")
    if url:
        return url.rstrip("/") + "/"
    return f"{root_uri}/configs/" if root_uri.startswith("s3://") else None


def requests_for(context: SensorEvaluationContext, registered: list[tuple[Registered, str, str]]) -> list[RunRequest]:
    """(registration, version, source): add every partition; request runs only for incomplete fingerprints."""
    add_partitions(context.instance, [reg for reg, _, _ in registered])
    run_requests, requested, complete = [], set(), 0
    for reg, version, source in registered:
        if reg.complete:
            complete += 1
            continue
        if reg.fingerprint in requested:  # two drops with the same parameters: one run
            continue
        requested.add(reg.fingerprint)
        run_requests.append(
            RunRequest(
                run_key=f"{reg.partition_key['fingerprint']}:{version[:12]}",
                job_name=recipe_job_name(reg.recipe),
                partition_key=MultiPartitionKey(reg.partition_key),
                tags={"synth/batch": reg.batch_id, "synth/source": source},
            )
        )
    if complete:
        context.log.info(f"{complete} experiments already complete: batch views only, no run")
    return run_requests


def _registered(context: SensorEvaluationContext, results: list[tuple[DropResult, str]]) -> list[tuple[Registered, str, str]]:
    """Registrations of config drops; rejected files are logged."""
    out = []
    for result, version in results:
        if result.error:
            context.log.error(f"rejected {result.path}: {result.error}")
        out += [(reg, version, str(result.path)) for reg in result.registrations]
    return out


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.STOPPED)
def config_drop_sensor(context: SensorEvaluationContext, synth: StoreResource) -> SensorResult:
    """Experiment YAMLs dropped in `$SYNTH_DROP_DIR` (default `{root}/drop/`)."""
    store, lineage = synth.store, synth.lineage
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    folder = drop_dir(state_dir(store.root_uri))
    results = []
    with lineage.session():
        for path in sorted(p for p in folder.glob("*") if p.suffix in CONFIG_SUFFIXES) if folder.is_dir() else []:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if seen.get(path.name) != digest:
                seen[path.name] = digest
                results.append((process_drop(path, store, lineage), digest))
    return SensorResult(run_requests=requests_for(context, _registered(context, results)), cursor=json.dumps(seen, sort_keys=True))


def _cursor(objects: list[dict], previous: dict) -> str:
    """The newest LastModified and every key listed at exactly that time."""
    if not objects:
        return json.dumps(previous)
    latest = max(o["LastModified"] for o in objects)
    return json.dumps({"last_modified": latest.isoformat(), "keys_at": sorted(o["Key"] for o in objects if o["LastModified"] == latest)})


def _new_objects(objects: list[dict], cursor: dict) -> list[dict]:
    """Objects after the cursor's timestamp, plus unseen ones at exactly that timestamp.

    S3 timestamps have one-second resolution, so many drops share one: a `since_key` cursor
    would skip them (and `get_objects` raises once that key is deleted), hence timestamp + keys.
    """
    since = dt.datetime.fromisoformat(cursor["last_modified"]) if cursor.get("last_modified") else None
    keys_at = set(cursor.get("keys_at", []))
    return [
        o for o in objects
        if since is None or o["LastModified"] > since or (o["LastModified"] == since and o["Key"] not in keys_at)
    ]


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.STOPPED)
def s3_config_drop_sensor(context: SensorEvaluationContext, synth: StoreResource, s3: S3Resource) -> SensorResult:
    """Experiment YAMLs uploaded under `$SYNTH_S3_CONFIGS` (default `{root}/configs/` of an S3 store)."""
    store, lineage = synth.store, synth.lineage
    url = s3_configs_url(store.root_uri)
    if url is None:
        return SensorResult(skip_reason="no S3 config prefix: set SYNTH_S3_CONFIGS or use an s3:// store root")
    bucket, prefix = split_s3_url(url)
    client = s3.get_client()
    cursor = json.loads(context.cursor) if context.cursor else {}
    objects = get_objects(bucket=bucket, prefix=prefix + "/", client=client)
    fresh = [o for o in _new_objects(objects, cursor) if o["Key"].endswith(CONFIG_SUFFIXES)]
    listed = {o["Key"] for o in objects}

    def fetch(obj: dict) -> bytes:
        return client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()

    def handle(item: tuple[dict, bytes]) -> tuple[DropResult, str]:
        obj, data = item
        key, url = obj["Key"], f"s3://{bucket}/{obj['Key']}"
        try:
            result = process_drop(url, store, lineage, text=data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            result = DropResult(url, [], f"{url}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        if result.error:
            client.put_object(Bucket=bucket, Key=key + ".error.txt", Body=(result.error + "\n").encode())
        elif key + ".error.txt" in listed:
            client.delete_object(Bucket=bucket, Key=key + ".error.txt")
        return result, obj["ETag"].strip('"')

    with ThreadPoolExecutor(max_workers=S3_WORKERS) as pool:  # S3 round trips overlap
        fetched = list(zip(fresh, pool.map(fetch, fresh)))  # before taking the lineage lock that runs wait on
        store.list_registrations()
        with lineage.session():
            results = list(pool.map(handle, fetched))
    return SensorResult(run_requests=requests_for(context, _registered(context, results)), cursor=_cursor(objects, cursor))


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


@sensor(minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED)
def judge_drop_sensor(context: SensorEvaluationContext, synth: StoreResource, s3: S3Resource) -> SensorResult:
    """Translation-judge outputs (`*.jsonl.out`) dropped under `$SYNTH_JUDGE_DROPS`: one partition each."""
    store, lineage = synth.store, synth.lineage
    url = judge_drops_url(store.root_uri)
    client = s3.get_client() if url.startswith("s3://") else None
    cursor = json.loads(context.cursor) if context.cursor else {}
    objects = _list_drops(url, client)
    fresh = [o for o in _new_objects(objects, cursor) if o["Key"].endswith(DROP_SUFFIX)]
    cfg = load_judge_config()
    registered = []
    with lineage.session():
        for obj in fresh:
            try:
                reg = register_drop(obj["url"], read_url(obj["url"], client), cfg, store, lineage)
            except ValueError as exc:  # an empty drop or an unknown format: reported beside it, others go on
                context.log.error(f"rejected {obj['url']}: {exc}")
                if client is not None:
                    bucket, key = split_s3_url(obj["url"])
                    client.put_object(Bucket=bucket, Key=key + ".error.txt", Body=f"{exc}\n".encode())
                else:
                    Path(obj["url"] + ".error.txt").write_text(f"{exc}\n", encoding="utf-8")
                continue
            registered.append((reg, obj["ETag"].strip('"'), obj["url"]))
    return SensorResult(run_requests=requests_for(context, registered), cursor=_cursor(objects, cursor))

"""Sensors on experiment-config drops: a local folder and an S3 prefix.

Each new or changed YAML is validated, fingerprinted and registered; new fingerprints become
dynamic partitions with a run request; fingerprints that are complete only get their batch view.
A bad file gets an error report beside it and the sensor keeps going.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.sensor import get_objects

from resources.store import StoreResource
from synth_assets.core.drops import ERROR_SUFFIX, DropResult, process_drop
from synth_assets.core.lineage import Lineage
from synth_assets.core.registry import Registration
from synth_assets.core.root import state_dir
from synth_assets.core.store import Store
from synth_assets.core.store_s3 import split_s3_url
from synth_assets.defs.drop_cursor import cursor_after, new_objects
from synth_assets.defs.recipes import run_requests
from synth_assets.recipes.registry import load_experiments, register

CONFIG_SUFFIXES = (".yaml", ".yml")
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


def _process_drop(path: str | Path, store: Store, lineage: Lineage, text: str | None = None) -> DropResult:
    return process_drop(path, lambda p, t: load_experiments(p, store.root_uri, text=t), lambda exp: register(exp, store, lineage),
                        text=text)


def _registered(context: SensorEvaluationContext, results: list[tuple[DropResult, str]]) -> list[tuple[Registration, str, str]]:
    """Registrations of config drops; rejected files are logged."""
    out = []
    for result, version in results:
        if result.error:
            context.log.error(f"rejected {result.path}: {result.error}")
        out += [(reg, version, str(result.path)) for reg in result.registrations]
    return out


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.STOPPED,
        description="Experiment YAMLs dropped in $SYNTH_DROP_DIR (default {root}/drop/): each new or changed file is validated "
                    "and registered, and a run is requested for every fingerprint that is not complete. A bad file gets "
                    "NAME.error.txt beside it.")
def config_drop_sensor(context: SensorEvaluationContext, store: StoreResource) -> SensorResult:
    s, lineage = store.store, store.lineage
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    folder = drop_dir(state_dir(s.root_uri))
    results = []
    with lineage.session():
        for path in sorted(p for p in folder.glob("*") if p.suffix in CONFIG_SUFFIXES) if folder.is_dir() else []:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if seen.get(path.name) != digest:
                seen[path.name] = digest
                results.append((_process_drop(path, s, lineage), digest))
    registered = _registered(context, results)
    found = f"watched {folder}: {len(results)} new or changed configs, {len(registered)} experiments registered"
    context.log.info(found)
    requests = run_requests(context, registered)
    return SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True), skip_reason=None if requests else found)


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.STOPPED,
        description="Experiment YAMLs uploaded under $SYNTH_S3_CONFIGS (default {root}/configs/ of an S3 store): registered and "
                    "run like local drops; a bad config gets NAME.error.txt beside it.")
def s3_config_drop_sensor(context: SensorEvaluationContext, store: StoreResource, s3: S3Resource) -> SensorResult:
    s, lineage = store.store, store.lineage
    url = s3_configs_url(s.root_uri)
    if url is None:
        return SensorResult(skip_reason="no S3 config prefix: set SYNTH_S3_CONFIGS or use an s3:// store root")
    bucket, prefix = split_s3_url(url)
    client = s3.get_client()
    cursor = json.loads(context.cursor) if context.cursor else {}
    objects = get_objects(bucket=bucket, prefix=prefix + "/", client=client)
    fresh = [o for o in new_objects(objects, cursor) if o["Key"].endswith(CONFIG_SUFFIXES)]
    listed = {o["Key"] for o in objects}

    def fetch(obj: dict) -> bytes:
        return client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()

    def handle(item: tuple[dict, bytes]) -> tuple[DropResult, str]:
        obj, data = item
        key, url = obj["Key"], f"s3://{bucket}/{obj['Key']}"
        try:
            result = _process_drop(url, s, lineage, text=data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            result = DropResult(url, [], f"{url}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        if result.error:
            client.put_object(Bucket=bucket, Key=key + ERROR_SUFFIX, Body=(result.error + "\n").encode())
        elif key + ERROR_SUFFIX in listed:
            client.delete_object(Bucket=bucket, Key=key + ERROR_SUFFIX)
        return result, obj["ETag"].strip('"')

    with ThreadPoolExecutor(max_workers=S3_WORKERS) as pool:  # S3 round trips overlap
        fetched = list(zip(fresh, pool.map(fetch, fresh)))  # before taking the lineage lock that runs wait on
        s.list_registrations()
        with lineage.session():
            results = list(pool.map(handle, fetched))
    registered = _registered(context, results)
    found = f"watched {url}: {len(objects)} objects, {len(fresh)} new configs, {len(registered)} experiments registered"
    context.log.info(found)
    requests = run_requests(context, registered)
    return SensorResult(run_requests=requests, cursor=cursor_after(objects, cursor), skip_reason=None if requests else found)

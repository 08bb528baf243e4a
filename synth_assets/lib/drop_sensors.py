"""The one drop-sensor builder: a `DropSource` (plain data, declared by a recipe or a domain) as a Dagster sensor.

Each tick lists the watched local folder or S3 prefix, keeps the drops that are new or changed since the
cursor (`core/drop_listing.py`: one scheme for both), fetches them (S3 round trips overlap) before taking
the lineage lock that runs wait on, registers them, marks refused drops with `NAME.error.txt` (and clears
the marker of a drop that is good now), adds the partitions and requests a run per incomplete fingerprint.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from dagster import DefaultSensorStatus, SensorDefinition, SensorEvaluationContext, SensorResult, sensor

from resources.store import StoreResource
from synth_assets.core.drop_listing import Drop, clear_error, cursor_of, list_files, mark_error, new_drops, split_listing
from synth_assets.core.store_s3 import read_url, s3_client
from synth_assets.lib.run_requests import run_requests
from synth_assets.recipes.hooks import DropSource


WORKERS = 16


def build_drop_sensor(source: DropSource) -> SensorDefinition:
    @sensor(name=source.sensor, minimum_interval_seconds=source.interval_s, default_status=DefaultSensorStatus.STOPPED,
            description=source.description)
    def _drop_sensor(context: SensorEvaluationContext, store: StoreResource) -> SensorResult:
        s, lineage = store.store, store.lineage
        url = source.url(s.root_uri)
        if url is None:
            return SensorResult(skip_reason=source.unwatched)
        client = s3_client() if url.startswith("s3://") else None
        drops, marked = split_listing(list_files(url, client), source.suffixes)
        fresh = new_drops(drops, context.cursor)

        def handle(item: tuple[Drop, bytes]) -> list[tuple]:
            drop, data = item
            try:
                registrations = register(drop.url, data)
            except ValueError as exc:
                context.log.error(f"rejected {drop.url}: {exc}")
                mark_error(drop, str(exc), client)
                return []
            if drop.name in marked:
                clear_error(drop, client)
            return [(reg, drop.version, drop.url) for reg in registrations]

        registered = []
        if fresh:
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                fetched = list(zip(fresh, pool.map(lambda d: read_url(d.url, client), fresh)))
                register = source.registrar(s, lineage)
                with lineage.session():
                    registered = [r for found in pool.map(handle, fetched) for r in found]
        found = f"watched {url}: {len(drops)} drops, {len(fresh)} new or changed, {len(registered)} registered"
        context.log.info(found)
        requests = run_requests(context, registered)
        return SensorResult(run_requests=requests, cursor=cursor_of(drops), skip_reason=None if requests else found)

    return _drop_sensor

"""`batch_views_sensor`: keeps the `batches` asset in step with lineage, whoever changed a batch.

Each tick reads one cheap signature per batch from lineage (its members, their status, quality
and last materialization) plus the failure of each unfinished member from the store; batches whose
signature changed since the last tick get their view rebuilt and, if it differs from the reported
one, a new materialization. Every tick says what it watched and found (its skip reason: a tick
that requests no run is shown as skipped).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor

from resources.store import StoreResource
from synth_assets.core.lineage import Lineage
from synth_assets.core.store import Store
from synth_assets.lib.batch_reports.report import report_batches


SHOWN = 5  # batches named in a tick's reason

_SIGNATURE_SQL = """
SELECT b.batch_id, b.purpose, b.description, m.dataset, m.fingerprint, m.reused, e.semantic_name, e.status,
       q.recorded_at AS quality_at,
       (SELECT max(x.id) FROM materializations x WHERE x.fingerprint = m.fingerprint) AS last_materialization
FROM batches b
LEFT JOIN batch_members m ON m.batch_id = b.batch_id
LEFT JOIN experiments e ON e.fingerprint = m.fingerprint
LEFT JOIN quality q ON q.fingerprint = m.fingerprint
ORDER BY b.batch_id, m.dataset, m.fingerprint
"""


def batch_signatures(store: Store, lineage: Lineage) -> dict[str, str]:
    """Batch id -> a digest that changes when its view may have changed."""
    parts: dict[str, list] = defaultdict(list)
    failures: dict[str, dict | None] = {}  # one store read per unfinished experiment, however many batches use it
    for row in lineage.query(_SIGNATURE_SQL):
        unfinished = row["fingerprint"] and row["status"] != "complete"
        if unfinished and row["fingerprint"] not in failures:
            failures[row["fingerprint"]] = store.failure(row["fingerprint"])
        failure = failures[row["fingerprint"]] if unfinished else None
        parts[row["batch_id"]].append([row[k] for k in row] + [(failure or {}).get("at")])
    return {b: hashlib.sha256(json.dumps(p, default=str).encode()).hexdigest()[:16] for b, p in parts.items()}


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Keeps the `batches` asset up to date: every 30 s it compares each batch in lineage (members, status, "
                    "quality, runs, failures) with the last tick and reports a new materialization of the batch's partition "
                    "(experiments, quality, sweep chart, cost, view folder) when its view changed. Runs publish their own "
                    "batches at once; this catches batches registered without a run (synth run/register of complete data).")
def batch_views_sensor(context: SensorEvaluationContext, store: StoreResource) -> SensorResult:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    signatures = batch_signatures(store.store, store.lineage)
    changed = [b for b, signature in signatures.items() if seen.get(b) != signature]
    reported = report_batches(context.instance, store.store, store.lineage, changed) if changed else {}
    watched = f"watched {len(signatures)} batch{'es' if len(signatures) != 1 else ''} in the lineage of {store.store.root_uri}"
    for batch_id, held in reported.items():
        context.log.info(f"{batch_id}: reported its view: {held}")
    if not changed:
        found = "none changed since the last tick"
    elif not reported:
        found = f"{len(changed)} changed, their views were already reported"
    else:
        listed = [f"{b} ({held})" for b, held in reported.items()]
        more = f"; and {len(listed) - SHOWN} more" if len(listed) > SHOWN else ""
        found = f"{len(changed)} changed, reported the view of " + "; ".join(listed[:SHOWN]) + more
    context.log.info(f"{watched}: {found}")
    # a sensor tick without run requests is always shown as skipped: its reason says what it did
    return SensorResult(skip_reason=f"{watched}: {found}", cursor=json.dumps(signatures, sort_keys=True))

"""IO manager: (asset, partition) -> the fingerprinted shared store.

Stage outputs are written by the stage-asset builder while it holds the stage's claim (so that the
computation and the write are one worker's); the IO manager records each materialization (with its
upstream edges) and its LLM usage in lineage, attaches metadata (the path relative to the store root
and the root once, rows, fingerprints, semantic name, reused flag, a preview, rounded tokens, cost and
cost saved by the LLM cache) and loads upstream stages for downstream assets. Handles runs that
target one partition or a range.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dagster import ConfigurableIOManager, InputContext, MetadataValue, OutputContext

from io_managers.previews import preview_markdown
from resources.store import StoreResource
from synth_assets.core.display import rounded
from synth_assets.core.fingerprint import short
from synth_assets.core.pending_stages import stage_prefix
from synth_assets.core.run_tags import rebuilt_stages
from synth_assets.lib.partitions import parse_experiment_key, split_key
from synth_assets.lib.stage_output import StageOutput


class SharedStoreIOManager(ConfigurableIOManager):
    """Stores every stage of every partition once, in the store of its `store` resource."""

    store: StoreResource

    def handle_output(self, context: OutputContext, obj: dict[str, StageOutput]) -> None:
        metadata: dict[str, Any] = {}
        for partition, out in obj.items():
            metadata = self._record(context, partition, out)
        if len(obj) == 1:
            context.add_output_metadata(metadata)
        else:
            context.add_output_metadata({"partitions": len(obj), "rows": sum(len(o.rows or []) for o in obj.values())})

    def _record(self, context: OutputContext, partition: str, out: StageOutput) -> dict[str, Any]:
        store, lineage = self.store.store, self.store.lineage
        record = out.record
        rows = out.read_rows(store)
        uri = store.uri(out.key)
        asset = context.asset_key.to_user_string()
        metadata: dict[str, Any] = {
            "path": MetadataValue.path(out.key),
            "store_root": MetadataValue.path(store.root_uri),
            "rows": len(rows),
            "fingerprint": short(record["fingerprint"]),
            "stage_fingerprint": short(out.stage_fingerprint),
            "semantic_name": record["semantic_name"],
            "reused": out.reused,
        }
        with lineage.session():  # one lock and transaction for everything this output records
            lineage.record_materialization(
                asset=asset, partition_key=partition, dataset=out.dataset, fingerprint=record["fingerprint"],
                stage_fingerprint=out.stage_fingerprint, run_id=context.run_id, path=uri, rows=len(rows),
                content_hash=out.content_hash, reused=out.reused, started_at=out.started_at,
                ended_at=dt.datetime.now(dt.timezone.utc), upstream=out.upstream,
            )
            if out.llm_usage is not None:
                backend, model = out.llm_model or ("", "")
                lineage.record_llm_usage(run_id=context.run_id, asset=asset, partition_key=partition, fingerprint=record["fingerprint"],
                                         batch_id=record["origin_batch"], backend=backend, model=model, usage=out.llm_usage)
                metadata.update({f"llm_{k}": rounded(v) for k, v in out.llm_usage.items() if isinstance(v, (int, float))})
        preview = preview_markdown(rows, upstream=out.preview_rows)
        return {**metadata, **out.metadata, "preview": MetadataValue.md(preview)}  # the long preview last

    def load_input(self, context: InputContext) -> dict[str, list[dict[str, Any]]]:
        """The upstream stage's rows per partition key of this run."""
        stage = context.upstream_output.definition_metadata["stage"]
        rebuilt = stage in rebuilt_stages(context.step_context.dagster_run.tags)
        out = {}
        for key in context.asset_partition_keys:
            dataset, experiment = split_key(key)
            record = self.store.record(dataset, *parse_experiment_key(experiment))
            store = self.store.store
            out[key] = store.read_stage(dataset, stage, record["stages"][stage], at=stage_prefix(store, record, stage, rebuilt))
        return out

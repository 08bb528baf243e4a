"""IO manager: (asset, dataset|fingerprint partition) -> the fingerprinted shared store.

Writes stage outputs atomically, records materializations, LLM usage and lineage edges in
DuckDB, creates batch views when an experiment is published, and attaches metadata
(path, rows, fingerprint, semantic name, reused flag, preview, tokens and cost).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from dagster import ConfigurableIOManager, InputContext, MetadataValue, OutputContext

from synth_assets.core.fingerprint import short
from synth_assets.core.lineage import Lineage
from synth_assets.core.root import default_root, lineage_path
from synth_assets.core.store import Store


@dataclass
class StageOutput:
    """What a stage asset hands to the IO manager."""

    stage: str
    dataset: str
    record: dict[str, Any]
    rows: list[dict[str, Any]] | None
    reused: bool
    started_at: dt.datetime
    key: str | None = None
    content_hash: str | None = None
    llm_usage: dict[str, Any] | None = None
    llm_model: tuple[str, str] | None = None
    upstream: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    extra_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def stage_fingerprint(self) -> str:
        return self.record["stages"][self.stage]

    def read_rows(self, store: Store) -> list[dict[str, Any]]:
        """The output's rows; read from the store (once) when the stage was reused."""
        if self.rows is None:
            self.rows = store.read_jsonl(self.key)
        return self.rows


def partition_dims(partition_key: Any) -> tuple[str, str]:
    """(dataset, fingerprint) of a `dataset|fingerprint` multi-partition key."""
    dims = getattr(partition_key, "keys_by_dimension", None)
    if dims:
        return dims["dataset"], dims["fingerprint"]
    dataset, fingerprint = str(partition_key).split("|")
    return dataset, fingerprint


def preview_markdown(rows: list[dict[str, Any]], limit: int = 5, width: int = 60) -> str:
    """A small markdown table of the first rows."""
    if not rows:
        return "_no rows_"
    columns = [c for c in rows[0] if not c.startswith("_")][:6]

    def cell(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows[:limit]]
    return "\n".join(lines)


class SharedStoreIOManager(ConfigurableIOManager):
    """Stores every stage of every (dataset, fingerprint) partition once, under `root`."""

    root: str | None = None

    def _store(self) -> Store:
        return Store(self.root or default_root())

    def _lineage(self) -> Lineage:
        return Lineage(lineage_path(self.root or default_root()))

    def handle_output(self, context: OutputContext, obj: StageOutput) -> None:
        store, lineage = self._store(), self._lineage()
        record = obj.record
        if obj.key is None:
            obj.key, obj.content_hash = store.write_stage(
                obj.dataset, obj.stage, obj.stage_fingerprint, obj.rows or [], {"asset": context.asset_key.to_user_string()},
                obj.extra_files,
            )
        rows = obj.read_rows(store)
        uri = store.uri(obj.key)
        partition = str(context.partition_key)
        metadata: dict[str, Any] = {
            "path": MetadataValue.path(uri),
            "rows": len(rows),
            "fingerprint": short(record["fingerprint"]),
            "stage_fingerprint": short(obj.stage_fingerprint),
            "semantic_name": record["semantic_name"],
            "reused": obj.reused,
            "preview": MetadataValue.md(preview_markdown(rows)),
        }
        with lineage.session():  # one lock and transaction for everything this output records
            lineage.record_materialization(
                asset=context.asset_key.to_user_string(),
                partition_key=partition,
                dataset=obj.dataset,
                fingerprint=record["fingerprint"],
                stage_fingerprint=obj.stage_fingerprint,
                run_id=context.run_id,
                path=uri,
                rows=len(rows),
                content_hash=obj.content_hash,
                reused=obj.reused,
                started_at=obj.started_at,
                ended_at=dt.datetime.now(dt.timezone.utc),
                upstream=obj.upstream,
            )
            if obj.llm_usage is not None:
                backend, model = obj.llm_model or ("", "")
                lineage.record_llm_usage(
                    run_id=context.run_id,
                    asset=context.asset_key.to_user_string(),
                    partition_key=partition,
                    fingerprint=record["fingerprint"],
                    batch_id=record["origin_batch"],
                    backend=backend,
                    model=model,
                    usage=obj.llm_usage,
                )
                metadata.update({f"llm_{k}": v for k, v in obj.llm_usage.items() if isinstance(v, (int, float))})
            if obj.stage == "published":
                lineage.mark_complete(record["fingerprint"])
                members = [m["batch_id"] for m in lineage.batches_using(record["fingerprint"])]
                for batch_id in members:
                    store.link(batch_id, obj.dataset, record["semantic_name"])
                metadata["batches"] = ", ".join(members)
        context.add_output_metadata({**metadata, **obj.metadata})

    def load_input(self, context: InputContext) -> list[dict[str, Any]]:
        upstream = context.upstream_output
        stage = upstream.definition_metadata["stage"]
        dataset, fingerprint = partition_dims(context.asset_partition_key)
        store = self._store()
        record = store.registration(fingerprint)
        return store.read_stage(dataset, stage, record["stages"][stage])

"""A batch as its users see it: its experiments, their state, quality and cost.

Members come from lineage (`batch_members` joined with `experiments`); an experiment is complete
when lineage or the store says so, failed when the store holds the failure of its last run, else
pending (what `synth batch` shows). Costs are summed per stage fingerprint, so a stage shared by two
experiments of the batch counts once: `cost_usd` is what the stages of the batch's new experiments
cost, `saved_by_reuse_usd` what the reused experiments' stages cost when another batch made them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from synth_assets.core.legacy_tree import IMPORT_SCHEME
from synth_assets.core.lineage import Lineage
from synth_assets.core.lineage.evaluations import evaluations_of, latest
from synth_assets.core.store import Store
from synth_assets.lib.usage import ExperimentUsage, experiment_usages


@dataclass
class Member:
    dataset: str
    semantic_name: str
    fingerprint: str
    reused: bool
    origin_batch: str | None
    status: str  # complete | pending | failed | no data
    view_key: str
    failure: dict[str, Any] | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    usage: ExperimentUsage = field(default_factory=ExperimentUsage)
    stages: dict[str, str] = field(default_factory=dict)  # stage -> stage fingerprint
    evaluations: list[dict[str, Any]] = field(default_factory=list)  # newest row per evaluator (core.lineage.evaluations)


@dataclass
class BatchView:
    batch_id: str
    purpose: str | None
    description: str | None
    root_uri: str
    members: list[Member]

    def costs(self) -> dict[str, float]:
        """Cost and tokens of the stages its new experiments ran (each stage once), and what reuse and the cache saved."""
        new: dict[str, dict[str, float]] = {}
        reused: dict[str, dict[str, float]] = {}
        for m in self.members:
            for stage, figures in m.usage.stages.items():
                (reused if m.reused else new)[m.stages[stage]] = figures
        reused = {fp: f for fp, f in reused.items() if fp not in new}

        def total(stages: dict[str, dict[str, float]], key: str) -> float:
            return sum(f[key] for f in stages.values())

        return {"cost_usd": total(new, "cost_usd"), "prompt_tokens": total(new, "prompt_tokens"),
                "completion_tokens": total(new, "completion_tokens"), "llm_calls": total(new, "requests"),
                "saved_by_cache_usd": total(new, "saved_usd"), "saved_by_reuse_usd": total(reused, "cost_usd")}

    def counts(self) -> dict[str, int]:
        states = [m.status for m in self.members]
        return {"experiments": len(self.members), "new": sum(not m.reused for m in self.members),
                "reused": sum(m.reused for m in self.members), "complete": states.count("complete"),
                "pending": states.count("pending"), "failed": states.count("failed")}

    def digest(self) -> str:
        """Changes whenever anything the batch's view shows changes."""
        state = [[m.dataset, m.fingerprint, m.reused, m.status, (m.failure or {}).get("error"), m.quality, m.usage.totals,
                  [[e["evaluator"], e["evaluator_fingerprint"], e["status"], e.get("value"), e.get("run_id")] for e in m.evaluations]]
                 for m in self.members]
        blob = json.dumps([self.purpose, self.description, state], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _status(store: Store, row: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    if row["status"] == "complete" or store.is_complete(row["dataset"], row["semantic_name"], row["fingerprint"]):
        return "complete", None
    if row["scheme"] == IMPORT_SCHEME:  # an imported legacy experiment is never generated later
        return "no data", None
    failure = store.failure(row["fingerprint"])
    return ("failed", failure) if failure else ("pending", None)


def _registration(store: Store, fingerprint: str) -> dict[str, Any] | None:
    try:
        return store.registration(fingerprint)
    except KeyError:
        return None


def batch_view(store: Store, lineage: Lineage, batch_id: str) -> BatchView | None:
    """The batch's view, or None when lineage knows no such batch."""
    found = [b for b in lineage.query("SELECT batch_id, purpose, description FROM batches WHERE batch_id = ?", [batch_id])]
    if not found:
        return None
    rows = lineage.batch_members(batch_id)
    quality = lineage.quality([r["fingerprint"] for r in rows])
    evaluated = latest(evaluations_of(lineage, [r["fingerprint"] for r in rows]))
    records = [_registration(store, row["fingerprint"]) for row in rows]
    usages = iter(experiment_usages(lineage, store, [r for r in records if r is not None]))
    members = []
    for row, record in zip(rows, records):
        status, failure = _status(store, row)
        member = Member(dataset=row["dataset"], semantic_name=row["semantic_name"] or "", fingerprint=row["fingerprint"],
                        reused=bool(row["reused"]), origin_batch=row["origin_batch"], status=status,
                        view_key=store.view_key(batch_id, row["dataset"], row["semantic_name"] or ""), failure=failure,
                        quality=quality.get(row["fingerprint"], {}),
                        evaluations=[e for (fp, _), e in evaluated.items() if fp == row["fingerprint"]])
        if record is not None:
            member.params, member.stages, member.usage = record.get("params") or {}, record["stages"], next(usages)
        members.append(member)
    return BatchView(batch_id, found[0]["purpose"], found[0]["description"], store.root_uri, members)

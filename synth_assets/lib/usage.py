"""The LLM tokens and cost of an experiment: every stage it consists of, whoever ran it.

Lineage's `llm_usage` rows name the experiment whose run made them, but stages are shared: two
experiments that differ only in validation share the generated stage, which only the first one
paid for. An experiment's cost is therefore summed over the runs that materialized its stage
fingerprints; cached LLM answers are added as saved cost (`llm_savings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synth_assets.core.display import usd
from synth_assets.core.lineage import Lineage
from synth_assets.core.store import Store
from synth_assets.lib.llm_savings import stage_savings


TOTALS = ("requests", "cache_hits", "failures", "prompt_tokens", "completion_tokens", "cost_usd")

_BY_STAGE = """
SELECT m.stage_fingerprint, {sums}
FROM llm_usage u
JOIN (SELECT DISTINCT run_id, asset, partition_key, stage_fingerprint FROM materializations
      WHERE list_contains(?, stage_fingerprint)) m
  ON m.run_id = u.run_id AND m.asset = u.asset AND m.partition_key = u.partition_key
GROUP BY m.stage_fingerprint
""".format(sums=", ".join(f"coalesce(sum(u.{k}), 0) AS {k}" for k in TOTALS))


@dataclass
class ExperimentUsage:
    """Totals over every stage of one experiment, and the same per stage (stages without LLM calls left out)."""

    totals: dict[str, float] = field(default_factory=lambda: {k: 0 for k in (*TOTALS, "saved_usd")})
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What a published experiment's metadata keeps: tokens, cost and saved cost."""
        return {k: self.totals[k] for k in ("prompt_tokens", "completion_tokens", "cost_usd", "saved_usd")}


def experiment_usages(lineage: Lineage, store: Store, records: list[dict[str, Any]]) -> list[ExperimentUsage]:
    """Tokens, cost and cache savings of all stages of each registration (one lineage query for all of them; the
    savings files are read once per stage that called an LLM, however many experiments share it)."""
    wanted = sorted({fp for record in records for fp in record["stages"].values()})
    rows = {r["stage_fingerprint"]: r for r in lineage.query(_BY_STAGE, [wanted])} if wanted else {}
    savings: dict[tuple[str, str, str], dict[str, Any]] = {}
    out = []
    for record in records:
        usage = ExperimentUsage()
        for stage, stage_fp in record["stages"].items():
            if stage_fp not in rows:
                continue
            figures = {k: rows[stage_fp][k] or 0 for k in TOTALS}
            where = (record["dataset"], stage, stage_fp)
            if where not in savings:
                savings[where] = stage_savings(store, *where)
            saved = savings[where]
            figures["saved_usd"], figures["cached_calls"] = saved.get("saved_usd", 0.0), saved.get("cached_calls", 0)
            usage.stages[stage] = figures
            for key in usage.totals:
                usage.totals[key] += figures[key]
        out.append(usage)
    return out


def experiment_usage(lineage: Lineage, store: Store, record: dict[str, Any]) -> ExperimentUsage:
    """Tokens, cost and cache savings of all stages of one registration."""
    return experiment_usages(lineage, store, [record])[0]


def usage_markdown(usage: ExperimentUsage) -> str:
    """One row per stage that called an LLM, then the total."""
    if not usage.stages:
        return "_no LLM calls_"
    head = "| stage | requests | cache hits | prompt tokens | completion tokens | cost $ | saved by cache $ |\n|---|---|---|---|---|---|---|"
    rows = [f"| {stage} | {f['requests']} | {f['cache_hits']} | {f['prompt_tokens']} | {f['completion_tokens']} | "
            f"{usd(f['cost_usd'])} | {usd(f['saved_usd'])} |" for stage, f in usage.stages.items()]
    t = usage.totals
    rows.append(f"| **all stages** | {t['requests']} | {t['cache_hits']} | {t['prompt_tokens']} | {t['completion_tokens']} | "
                f"{usd(t['cost_usd'])} | {usd(t['saved_usd'])} |")
    return "\n".join([head, *rows])

"""Build a recipe's stage assets: source -> generated -> validated -> published.

Every stage is partitioned by (dataset, fingerprint), has its own stage fingerprint and is
skipped (reused, no LLM call) when the store already holds that stage fingerprint.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    Output,
    asset,
)

from io_managers.shared_store import StageOutput, partition_dims
from resources.llm import ChatRequest, ChatResponse, LLMResource, LLMUsage
from resources.store import StoreResource
from synth_assets.assets.recipe_stages import RecipeStages
from synth_assets.core.config import Experiment, Sampling
from synth_assets.core.publish import publish_experiment, train_key
from synth_assets.core.registry import load_registered

STAGES = ("source", "generated", "validated", "published")

# Backfills run one partition per run. A partition is one experiment: its LLM calls take minutes,
# against seconds of run start-up, so packing partitions into one run saves little, while separate
# runs keep experiments isolated (one failure, retry or cancel touches one experiment) and map
# cleanly onto sparse (dataset, fingerprint) selections, which `single_run` splits anyway.
ONE_RUN_PER_PARTITION = BackfillPolicy.multi_run(max_partitions_per_run=1)
DEFAULT_MIN_PASS_RATE = 0.0
NO_CACHE_TAG = "synth/no_cache"  # "true": bypass the LLM request cache (synth regenerate)
PROGRESS_TAG = "synth/progress"  # "bar": a rich progress bar instead of log lines (synth run in a terminal)


def recipe_partitions(recipe: str) -> MultiPartitionsDefinition:
    """(dataset, fingerprint) partitions of one recipe; both dimensions are dynamic."""
    return MultiPartitionsDefinition(
        {
            "dataset": DynamicPartitionsDefinition(name=f"{recipe}_dataset"),
            "fingerprint": DynamicPartitionsDefinition(name=f"{recipe}_fingerprint"),
        }
    )


class _UsageMeter:
    """Sends a stage's LLM requests through the right backend and sums their usage."""

    def __init__(self, llm: LLMResource, exp: Experiment, context: AssetExecutionContext, label: str):
        self.llm, self.exp, self.context, self.label = llm, exp, context, label
        self.usage: LLMUsage | None = None
        self.model: tuple[str, str] | None = None

    def __call__(self, sampling: Sampling, requests: list[ChatRequest]) -> list[ChatResponse]:
        llm = self.llm if self.llm.backend == sampling.backend else self.llm.model_copy(update={"backend": sampling.backend})
        served = llm.resolved_model(sampling.model)
        if served != sampling.model:
            raise RuntimeError(
                f"experiment asks for model {sampling.model!r} on backend {sampling.backend!r}, but the LLM resource serves {served!r}"
            )
        if not requests:
            return []
        self.context.log.info(f"{self.label}: {len(requests)} requests to {sampling.backend}/{served}")
        tags = self.context.run.tags
        bar = tags.get(PROGRESS_TAG) == "bar"
        result = llm.chat(requests, logger=None if bar else self.context.log, progress=bar, description=self.label,
                          use_cache=tags.get(NO_CACHE_TAG) != "true")
        self.usage = result.usage if self.usage is None else self.usage + result.usage
        self.model = (sampling.backend, served)
        failures = [r.error for r in result.responses if not r.ok]
        if failures:
            self.context.log.warning(f"{self.label}: {len(failures)} failed requests, e.g. {failures[0]}")
        return result.responses


def _context(context: AssetExecutionContext, synth: StoreResource) -> tuple[Experiment, dict[str, Any], str]:
    dataset, fingerprint = partition_dims(context.partition_key)
    exp, record = load_registered(synth.store, fingerprint)
    if exp.dataset != dataset:
        raise ValueError(f"fingerprint {fingerprint} belongs to dataset {exp.dataset}, not {dataset}: pick the matching partition")
    return exp, record, dataset


def _checks(rows: list[dict] | None, required: list[str], stage: str, pass_rate: float | None, min_pass_rate: float) -> Iterator[AssetCheckResult]:
    rows = rows or []
    yield AssetCheckResult(check_name="non_empty", passed=bool(rows), metadata={"rows": len(rows)})
    bad = [i for i, row in enumerate(rows) if any(f not in row for f in required)]
    yield AssetCheckResult(
        check_name="schema",
        passed=not bad,
        metadata={"required_fields": ", ".join(required), "rows_missing_fields": len(bad)},
    )
    if stage == "validated":
        rate = pass_rate if pass_rate is not None else 0.0
        yield AssetCheckResult(
            check_name="pass_rate",
            passed=rate >= min_pass_rate,
            metadata={"pass_rate": rate, "floor": min_pass_rate},
        )


def build_recipe_assets(recipe: RecipeStages) -> list[AssetsDefinition]:
    """The four stage assets of a recipe, keyed `{recipe}/{stage asset name}`."""
    partitions = recipe_partitions(recipe.name)
    keys = {stage: AssetKey([recipe.name, recipe.asset_names[stage]]) for stage in STAGES}

    def make(stage: str, upstream_stage: str | None) -> AssetsDefinition:
        key = keys[stage]
        checks = [AssetCheckSpec("non_empty", asset=key), AssetCheckSpec("schema", asset=key)]
        if stage == "validated":
            checks.append(AssetCheckSpec("pass_rate", asset=key, description="share of rows the validator accepted, above a floor"))
        ins = {"upstream": AssetIn(key=keys[upstream_stage])} if upstream_stage else {}

        @asset(
            key=key,
            ins=ins,
            partitions_def=partitions,
            io_manager_key="shared_store",
            metadata={"stage": stage},
            group_name=recipe.name,
            check_specs=checks,
            backfill_policy=ONE_RUN_PER_PARTITION,
            description=f"{recipe.name} recipe, stage '{stage}'",
        )
        def _stage(context: AssetExecutionContext, synth: StoreResource, llm: LLMResource, **inputs: Any):
            started = dt.datetime.now(dt.timezone.utc)
            exp, record, dataset = _context(context, synth)
            store = synth.store
            stage_fp = record["stages"][stage]
            upstream = []
            if upstream_stage:
                upstream = [{
                    "asset": keys[upstream_stage].to_user_string(),
                    "partition_key": str(context.partition_key),
                    "path": store.uri(store.stage_key(dataset, upstream_stage, record["stages"][upstream_stage]) + "/data.jsonl"),
                }]
            out = StageOutput(stage=stage, dataset=dataset, record=record, rows=None, reused=False, started_at=started, upstream=upstream)
            if stage == "published":
                out.key = train_key(store, dataset, record["semantic_name"])
                if store.is_complete(dataset, record["semantic_name"], record["fingerprint"]):
                    out.reused = True
                else:
                    rows = inputs["upstream"]
                    accepted = sum(1 for r in rows if r.get("_synth", {}).get("accepted"))
                    usage = synth.lineage.query(
                        "SELECT coalesce(sum(prompt_tokens),0) AS prompt_tokens, coalesce(sum(completion_tokens),0) AS completion_tokens, "
                        "coalesce(sum(cost_usd),0) AS cost_usd FROM llm_usage WHERE fingerprint = ?",
                        [record["fingerprint"]],
                    )[0]
                    summary = {"pass_rate": round(accepted / len(rows), 4) if rows else None, **usage}
                    out.rows = recipe.train_rows(exp, rows)
                    out.key, out.content_hash = publish_experiment(store, exp, record, out.rows, summary)
            elif store.stage_complete(dataset, stage, stage_fp):
                out.reused = True
                out.key = store.stage_key(dataset, stage, stage_fp) + "/data.jsonl"
                context.log.info(f"stage {stage} {stage_fp[:12]} already in the store: reused, no LLM call")
            else:
                meter = _UsageMeter(llm, exp, context, f"{recipe.name}/{stage} {dataset}")
                if stage == "source":
                    out.rows = recipe.source(exp)
                elif stage == "generated":
                    out.rows = recipe.generate(exp, inputs["upstream"], meter)
                else:
                    out.rows = recipe.validate(exp, inputs["upstream"], meter)
                if meter.usage is not None:
                    out.llm_usage, out.llm_model = meter.usage.to_dict(), meter.model
            rows = out.read_rows(store)
            pass_rate = None
            if stage == "validated":
                pass_rate = round(sum(1 for r in rows if r.get("_synth", {}).get("accepted")) / len(rows), 4) if rows else 0.0
                out.metadata["pass_rate"] = pass_rate
            min_rate = exp.config.validation.min_pass_rate if exp.config.validation else DEFAULT_MIN_PASS_RATE
            required = recipe.required_fields(exp) if stage != "source" or recipe.name == "rephrase" else ["prompt_id", "prompt"]
            yield Output(out)
            yield from _checks(rows, required, stage, pass_rate, min_rate)

        return _stage

    return [make("source", None), make("generated", "source"), make("validated", "generated"), make("published", "validated")]

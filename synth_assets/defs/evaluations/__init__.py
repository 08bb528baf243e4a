"""Evaluations in Dagster: the asset `{recipe}/evaluation` of every recipe that says it is `evaluated` (rephrase),
downstream of its `published` asset, partitioned like it (`evaluation_job` runs them: one evaluated recipe, as its
partitions are the job's).

Design: one partition per experiment (the recipe's own `dataset × fingerprint` partitions, mapped one
to one onto the published asset, so a backfill picks experiments exactly as for generation); inside a
partition every evaluator registered for the experiment (`evaluation:` in its config) is keyed by its
own fingerprint in the store and in lineage, so a changed evaluator is a new result and an unchanged one
is reused with no trainer run. Alternatives considered: a second partition dimension per evaluator
(Dagster caps multi-partitions at two dimensions, both taken by the experiment, and an evaluator-only
dimension would lose the one-to-one mapping onto the published partitions), one asset per evaluator
(configs add evaluators at run time; assets are fixed when the code loads).

Automation: the asset carries `AutomationCondition.eager()` and `evaluations_automation`, a sensor
stopped by default, evaluates every newly published experiment once the user turns it on (UI,
Automation tab, or `synth sensors start evaluations_automation`). `synth run` evaluates the experiments
of a config with an `evaluation:` list itself, after publishing them.
"""

from __future__ import annotations

import os

from dagster import (
    AssetKey,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
)

from synth_assets.evaluation.effect import evaluation_markdown
from synth_assets.evaluation.evaluate import evaluate_experiment
from synth_assets.lib.batch_reports.report import report_batches
from synth_assets.lib.executor import executor_from_env
from synth_assets.lib.partitions import ONE_RUN_PER_PARTITION, parse_experiment_key, partitions_def, split_key
from synth_assets.lib.stage_assets import asset_key
from synth_assets.recipes.base import Recipe
from synth_assets.recipes.registry import recipes


EVALUATION_JOB = "evaluation_job"
QUEUE_TAG = "dagster-celery/queue"


def _op_tags() -> dict[str, str]:
    """`$SYNTH_EVALUATION_QUEUE`: the Celery queue evaluation steps go to (GPU workers listen on it; deploy/README.md)."""
    queue = os.environ.get("SYNTH_EVALUATION_QUEUE", "").strip()
    return {QUEUE_TAG: queue} if queue else {}


def build_evaluation_asset(recipe: Recipe):
    @asset(key=AssetKey([recipe.name, "evaluation"]), deps=[asset_key(recipe, recipe.stages[-1])], partitions_def=partitions_def(recipe), group_name="evaluations",
           backfill_policy=ONE_RUN_PER_PARTITION, required_resource_keys={"store"}, op_tags=_op_tags(),
           automation_condition=AutomationCondition.eager(), kinds={"python"},
           description="The training effect of the published data: every evaluator of the experiment's `evaluation:` list "
                       "(built-in probe, python entry point, command) trained on its train split and scored on the validation "
                       "split, against the same evaluator on the original rows. Reused by evaluator fingerprint.")
    def evaluation(context) -> MaterializeResult:  # an AssetExecutionContext
        resource = context.resources.store
        store, lineage = resource.store, resource.lineage
        rows: list[tuple[dict, bool]] = []
        for partition in context.partition_keys:
            dataset, experiment = split_key(partition)
            record = resource.record(dataset, *parse_experiment_key(experiment))
            if not store.record_complete(record):
                raise RuntimeError(f"{record['dataset']}/{record['semantic_name']} is not published yet: nothing to evaluate")
            try:
                rows += evaluate_experiment(store, lineage, record, load=recipe.load, run_id=context.run.run_id,
                                            log=context.log.info)
            finally:
                batches = [b["batch_id"] for b in lineage.batches_using(record["fingerprint"])]
                report_batches(context.instance, store, lineage, batches)
        reused = sum(1 for _, r in rows if r)
        return MaterializeResult(metadata={
            "evaluations": MetadataValue.md(evaluation_markdown([row for row, _ in rows], reused=[r for _, r in rows])),
            "evaluators": len(rows), "reused": reused, "ran": len(rows) - reused,
        })

    return evaluation


def definitions(root: str) -> Definitions:
    evaluations = [build_evaluation_asset(recipe) for recipe in recipes().values() if recipe.evaluated]
    if not evaluations:
        return Definitions()
    selection = AssetSelection.assets(*evaluations)
    return Definitions(
        assets=evaluations,
        jobs=[define_asset_job(EVALUATION_JOB, selection=selection, executor_def=executor_from_env(),
                               description="Evaluate published experiments (one partition per experiment).")],
        sensors=[AutomationConditionSensorDefinition("evaluations_automation", target=selection,
                                                     default_status=DefaultSensorStatus.STOPPED,
                                                     description="Evaluates every newly published experiment (turn on to ask for it).")],
    )

"""One builder turns any recipe into its partitioned Dagster assets.

For every stage and every partition of the run it resolves the registration once, tags the run
with its batches and fingerprints (`run_tags`), gives the recipe's stage function its resources and
metered LLM calls (cached answers priced as saved cost) and the failure policy, leaves the claim,
the reuse, the write and the publish bookkeeping to `core.stage_run`, reports the views of the
batches using a published experiment (`defs.batches`), and yields the output (stored and recorded
by the IO manager) and one result per check and partition."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetRecordsFilter,
    AssetsDefinition,
    MetadataValue,
    Output,
    PreviewWarning,
    asset,
    deserialize_value,
)

from synth_assets.core.display import rounded
from synth_assets.core.run_tags import rebuilt_stages
from synth_assets.core.stage_run import StoredStage
from synth_assets.lib.batch_reports.report import report_batches
from synth_assets.lib.llm_meter import LLMMeter
from synth_assets.lib.llm_savings import SAVINGS_FILE, SavingsMeter, savings_file
from synth_assets.lib.partitions import ONE_RUN_PER_PARTITION, parse_experiment_key, partitions_def, split_key
from synth_assets.lib.published_story import story_metadata
from synth_assets.lib.run_tags import tag_run
from synth_assets.lib.stage_output import StageOutput
from synth_assets.lib.usage import experiment_usage
from synth_assets.recipes.base import Check, CheckResult, FilePath, Markdown, Recipe, Rows, Stage, StageFailed, StageRun


NON_EMPTY = "non_empty"
SCHEMA = "schema"
CHECK_DESCRIPTIONS = {
    NON_EMPTY: "The stage produced at least one row.",
    SCHEMA: "Every row has the fields the recipe requires of this stage.",
}


def asset_key(recipe: Recipe, stage: Stage) -> AssetKey:
    return AssetKey([recipe.name, stage.asset])


def metadata_value(value: Any) -> Any:
    """Recipe metadata (plain Python) as Dagster metadata values, floats rounded."""
    if isinstance(value, Markdown):
        return MetadataValue.md(str(value))
    if isinstance(value, FilePath):
        return MetadataValue.path(str(value))
    if isinstance(value, (dict, list)):
        return MetadataValue.json(value)
    return rounded(value)


def _standard_checks(rows: Rows, required: list[str] | None) -> list[tuple[str, CheckResult]]:
    out = [(NON_EMPTY, CheckResult(bool(rows), {"rows": len(rows)}))]
    if required is not None:
        bad = sum(1 for row in rows if any(f not in row for f in required))
        out.append((SCHEMA, CheckResult(not bad, {"required_fields": ", ".join(required), "rows_missing_fields": bad})))
    return out


class _StageRunner:
    """Runs one stage of one recipe for one partition of a Dagster run: the Dagster side (resources, metered LLM calls,
    metadata, batch views); the store side is `core.stage_run.StoredStage`."""

    def __init__(self, context: AssetExecutionContext, recipe: Recipe, stage: Stage, partition: str):
        self.context, self.recipe, self.stage, self.partition = context, recipe, stage, partition
        self.resources = context.resources
        self.store_resource = context.resources.store
        self.store = self.store_resource.store
        dataset, experiment = split_key(partition)
        self.record = self.store_resource.record(dataset, *parse_experiment_key(experiment))
        self.job = self.store_resource.job(recipe, self.record)
        self.stored = StoredStage(self.store, self.store_resource.lineage, self.record, stage.name,
                                  rebuilt=rebuilt_stages(context.run.tags), log=context.log)
        self.evaluated: dict[str, CheckResult] = {}  # the blocking checks already evaluated on what was published

    def stage_run(self, upstream: Rows | None) -> StageRun:
        resources = {key: getattr(self.resources, key) for key in self.stage.resources}
        run = StageRun(recipe=self.recipe, stage=self.stage, record=self.record, job=self.job, store=self.store, log=self.context.log,
                       resources=resources, upstream=upstream, tags=self.context.run.tags, run_id=self.context.run.run_id,
                       partition_key=self.partition, lineage=self.store_resource.lineage, rebuilt=self.stored.rebuilt)
        if "llm" in resources:
            meter = LLMMeter(resources["llm"], run, f"{self.recipe.name}/{self.stage.name} {self.record['dataset']}")
            run.chat = SavingsMeter(meter, resources["llm"].prices_path)
        return run

    def upstream_edges(self, run: StageRun) -> list[dict[str, str]]:
        previous = self.recipe.upstream_of(self.stage.name)
        if previous is None:
            return []
        key = run.stage_key(previous.name) + "/data.jsonl"
        return [{"asset": asset_key(self.recipe, previous).to_user_string(), "partition_key": self.partition, "path": self.store.uri(key)}]

    def run(self, upstream: Rows | None) -> tuple[StageOutput | None, StageRun]:
        """The stage's output for this partition (None: the stage has nothing to store yet)."""
        started = dt.datetime.now(dt.timezone.utc)
        run = self.stage_run(upstream)
        out = StageOutput(stage=self.stage.name, dataset=self.record["dataset"], record=self.record, rows=None, reused=False,
                          started_at=started, upstream=self.upstream_edges(run))
        try:
            made = self._publish(run, out) if self.recipe.publishes(self.stage) else self._compute(run, out)
        except Exception as exc:
            self.record_failure(f"{type(exc).__name__}: {exc}")
            raise
        if not made:
            return None, run
        rows = out.read_rows(self.store)
        extra = self.stage.metadata(run, rows) if self.stage.metadata else {}
        out.metadata = {k: metadata_value(v) for k, v in {**run.metadata, **extra}.items()}
        return out, run

    def record_failure(self, error: str) -> None:
        """The experiment shows as failed in this stage (store, batch views) until a run completes it."""
        self.stored.record_failure(self.context.run.run_id, error)
        self.report_batches()

    def report_batches(self, batches: list[str] | None = None) -> None:
        """The views of the batches using this experiment (a view failing to report never fails the stage)."""
        lineage = self.store_resource.lineage
        try:
            if batches is None:
                batches = [b["batch_id"] for b in lineage.batches_using(self.record["fingerprint"])]
            for batch_id, held in report_batches(self.context.instance, self.store, lineage, batches).items():
                self.context.log.info(f"batch view {batch_id}: {held}")
        except Exception as exc:  # noqa: BLE001  (batch_views_sensor reports it later)
            self.context.log.warning(f"batch views of {self.record['semantic_name']} not reported: {type(exc).__name__}: {exc}")

    def _compute(self, run: StageRun, out: StageOutput) -> bool:
        """Reuse the stage from the store, or compute and store it while holding its claim; False: nothing yet."""

        def accept(rows: Rows) -> dict[str, bytes]:  # the failure policy, then the LLM usage and its savings file
            self._check_failures(run)
            if isinstance(run.chat, SavingsMeter) and run.chat.usage is not None:
                out.llm_usage = {**run.chat.usage.to_dict(), **vars(run.chat.savings)}
                out.llm_model = run.chat.model
                run.extra_files[SAVINGS_FILE] = savings_file(out.llm_usage, out.llm_model)
            return run.extra_files

        stored = self.stored.compute(lambda: self.stage.run(run), accept=accept, waits=self.stage.waits,
                                     meta={"asset": asset_key(self.recipe, self.stage).to_user_string()})
        if stored is None:
            return False
        out.reused, out.key, out.rows, out.content_hash = stored.reused, stored.key, stored.rows, stored.content_hash
        return True

    def _check_failures(self, run: StageRun) -> None:
        """The failure policy: more failed requests than `max_failure_rate` allows and nothing is stored."""
        if not run.total_requests:
            return
        rate, allowed = run.failed_requests / run.total_requests, self.stage.max_failure_rate(self.job)
        if rate > allowed:
            raise StageFailed(f"{run.failed_requests} of {run.total_requests} LLM requests failed ({rate:.0%} > max_failure_rate "
                              f"{allowed:.0%}); nothing was stored, a rerun sends only the failed requests. First error: "
                              f"{run.chat.first_error if isinstance(run.chat, SavingsMeter) else 'n/a'}")

    def _publish(self, run: StageRun, out: StageOutput) -> bool:
        """Publish `_shared/{dataset}/{name}/` (`StoredStage.publish`), then tell the experiment's story and report its views."""
        store, record = self.store, self.record
        usage = experiment_usage(self.store_resource.lineage, store, record)  # all stages, shared ones included (their upstream steps are done)

        def blocking_failures(summary: dict[str, Any], rows: Rows) -> str:  # the blocking checks, on what is about to be published
            run.published_summary = summary
            self.evaluated = {c.name: c.evaluate(run, rows) for c in self.stage.checks if c.blocking and not c.warn_only}
            return "; ".join(f"blocking check {name} {explain(result)}" for name, result in self.evaluated.items() if not result.passed)

        published = self.stored.publish(lambda: self.stage.run(run), lambda rows, files: self.recipe.publish(run, rows, files),
                                        usage=usage.summary(), readme_lines=self.recipe.readme_lines, blocking_failures=blocking_failures)
        dataset, name = record["dataset"], record["semantic_name"]
        if published.rejected and self.stored.rebuild:
            raise StageFailed(f"{dataset}/{name} not replaced, the old data stays: {published.rejected}")
        out.reused, out.key, out.rows = published.reused, published.key, published.rows
        if published.rejected:  # the blocking check's evaluation fails the step (`_stage`)
            self.context.log.error(f"{dataset}/{name} not published (kept without its marker for inspection): {published.rejected}")
            return True
        out.preview_rows = run.upstream  # the rows before publishing keep each rewrite's story
        run.metadata.update(story_metadata(store, record, usage, published.batches))
        self.report_batches(published.batches)
        return True

    def checks(self, run: StageRun, rows: Rows) -> list[tuple[Check | str, CheckResult]]:
        """The standard checks and the stage's own (a blocking check evaluated while publishing is not evaluated again)."""
        required = self.stage.required_fields(self.job) if self.stage.required_fields else None
        own = [(c, self.evaluated[c.name] if c.name in self.evaluated else c.evaluate(run, rows)) for c in self.stage.checks]
        return [*_standard_checks(rows, required), *own]


def _check_specs(key: AssetKey, stage: Stage, partitions) -> list[AssetCheckSpec]:
    if stage.waits:  # a check needs an output to check, and a waiting stage may have none
        return []
    named = [(n, CHECK_DESCRIPTIONS[n], False) for n in [NON_EMPTY] + ([SCHEMA] if stage.required_fields else [])]
    named += [(c.name, c.description, c.blocking) for c in stage.checks]
    with warnings.catch_warnings():  # checks are partitioned like their asset: `partitions_def` on a check spec is a preview in 1.13
        warnings.simplefilter("ignore", PreviewWarning)
        return [AssetCheckSpec(name, asset=key, description=description, blocking=blocking, partitions_def=partitions)
                for name, description, blocking in named]


def explain(result: CheckResult) -> str:
    """What a check found, in one line: `failed: pass_rate 0.3333, floor 0.5`."""
    found = ", ".join(f"{k} {rounded(v)}" for k, v in result.metadata.items() if isinstance(v, (int, float, str)))
    text = f"{'passed' if result.passed else 'failed'}" + (f": {found}" if found else "")
    return text if len(text) <= 300 else text[:299] + "…"


def _target(context: AssetExecutionContext, key: AssetKey, partition: str) -> Any:
    """The partition's materialization a check result is about (the one this step just recorded), in the form
    `AssetCheckEvaluation(target_materialization_data=...)` takes. Dagster exports no class for it, so it is read back
    from its stored form with the public `deserialize_value` (the form every event log keeps, so Dagster keeps reading
    it); without it the UI would show the partition's check results as not about its latest materialization."""
    found = context.instance.fetch_materializations(AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1).records
    if not found:
        return None
    return deserialize_value(json.dumps({"__class__": "AssetCheckEvaluationTargetMaterializationData", "storage_id": found[0].storage_id,
                                         "run_id": found[0].run_id, "timestamp": found[0].timestamp}))


def _check_evaluations(context: AssetExecutionContext, key: AssetKey,
                       results: list[tuple[str, str, Check | None, CheckResult]]) -> Iterator[Output | AssetCheckEvaluation]:
    """One evaluation per check and partition, attached to the partition (an `AssetCheckResult` takes the partition
    from a `dagster/partition` run tag, which backfill runs over a partition range do not have)."""
    selected = context.selected_asset_check_keys
    for name in dict.fromkeys(name for _, name, _, _ in results):
        if AssetCheckKey(key, name) in selected:  # the check's output, as an AssetCheckResult would yield it
            yield Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(AssetCheckKey(key, name)))
    targets: dict[str, Any] = {}
    for partition, name, check, result in results:
        if AssetCheckKey(key, name) not in selected:
            continue
        if partition not in targets:
            targets[partition] = _target(context, key, partition)
        yield AssetCheckEvaluation(
            asset_key=key, check_name=name, passed=result.passed, partition=partition, description=explain(result),
            severity=AssetCheckSeverity.WARN if check is not None and check.warn_only else AssetCheckSeverity.ERROR,
            blocking=check is not None and check.blocking, target_materialization_data=targets[partition],
            metadata={k: metadata_value(v) for k, v in result.metadata.items()})


def build_stage_assets(recipe: Recipe) -> list[AssetsDefinition]:
    """The partitioned assets `{recipe}/{stage asset}` of a recipe, one per stage."""
    partitions = partitions_def(recipe)
    assets = []
    for index, stage in enumerate(recipe.stages):
        previous = recipe.stages[index - 1] if index else None
        assets.append(_stage_asset(recipe, stage, previous, partitions))
    return assets


def _stage_asset(recipe: Recipe, stage: Stage, previous: Stage | None, partitions) -> AssetsDefinition:
    key = asset_key(recipe, stage)
    reads = previous is not None and stage.reads_upstream
    ins = {"upstream": AssetIn(key=asset_key(recipe, previous))} if reads else {}
    deps = [asset_key(recipe, previous)] if previous is not None and not reads else []

    @asset(key=key, ins=ins, deps=deps, partitions_def=partitions, io_manager_key="shared_store", metadata={"stage": stage.name},
           group_name=recipe.name, check_specs=_check_specs(key, stage, partitions), backfill_policy=ONE_RUN_PER_PARTITION,
           description=stage.description, required_resource_keys={"store", *stage.resources}, output_required=not stage.waits)
    def _stage(context, **inputs: Any):  # an AssetExecutionContext
        upstream = inputs.get("upstream") or {}
        runners = [_StageRunner(context, recipe, stage, partition) for partition in context.partition_keys]
        tag_run(context, [r.record for r in runners], runners[0].store_resource.lineage)
        outputs: dict[str, StageOutput] = {}
        results: list[tuple[str, str, Check | None, CheckResult]] = []
        for runner in runners:
            out, run = runner.run(upstream.get(runner.partition))
            if out is None:
                continue
            outputs[runner.partition] = out
            for check, result in ([] if stage.waits else runner.checks(run, out.read_rows(runner.store))):
                named = (check, None) if isinstance(check, str) else (check.name, check)
                results.append((runner.partition, *named, result))
                if not result.passed and named[1] is not None and named[1].blocking and not named[1].warn_only:
                    runner.record_failure(f"blocking check {named[0]} {explain(result)}")  # the step fails once it is reported
        if outputs:
            yield Output(outputs)
            yield from _check_evaluations(context, key, results)

    return _stage

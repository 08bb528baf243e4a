"""`synth fingerprint`, `register`, `run`, `regenerate`: configs in, experiments out."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.tree import Tree

from synth_assets.cli.common import JsonOption, catalog_warnings, console, err_console, fail, lineage, print_json, print_table, root, store
from synth_assets.cli.materialize import RunOutcome, materialize, progress_tags
from synth_assets.core.config import Experiment
from synth_assets.core.experiment_registration import config_yaml, semantic_name
from synth_assets.core.faults import kill_point
from synth_assets.core.fingerprint import SCHEME, short
from synth_assets.core.registry import Registration
from synth_assets.core.run_tags import regenerate_tags
from synth_assets.core.storage_errors import storage_problem_in_text
from synth_assets.core.store import Store
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.registry import fingerprint, load_experiments, register
from synth_assets.recipes.registry import get as get_recipe

ConfigArgs = typer.Argument(..., exists=True, dir_okay=False, help="Experiment YAML files (one experiment or a sweep each).")


def _load(configs: list[Path]):
    try:
        with catalog_warnings():
            return [exp for path in configs for exp in load_experiments(path, store().root_uri)]
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def fingerprint_command(configs: list[Path] = ConfigArgs, as_json: bool = JsonOption) -> None:
    """Print each experiment's fingerprint, scheme and semantic name (nothing is written)."""
    out = []
    for exp in _load(configs):
        fps = fingerprint(exp)
        out.append({
            "config": exp.source_file, "dataset": exp.dataset, "fingerprint": short(fps.experiment),
            "fingerprint_full": fps.experiment, "scheme": SCHEME, "semantic_name": semantic_name(exp),
            "stages": {k: short(v) for k, v in fps.stages.items()},
        })
    if as_json:
        return print_json(out)
    print_table("Fingerprints", ["config", "dataset", "fingerprint", "scheme", "semantic name", "stages"],
                ([o["config"], o["dataset"], o["fingerprint"], o["scheme"], o["semantic_name"],
                  " ".join(f"{k}={v}" for k, v in o["stages"].items())] for o in out))


def _register_all(configs: list[Path]) -> list[Registration]:
    experiments = _load(configs)
    s, lin = store(), lineage()
    with lin.session():
        regs = [register(exp, s, lin) for exp in experiments]
    for reg in regs:
        _take_current_settings(reg, s)
    return regs


def _take_current_settings(reg: Registration, s: Store) -> None:
    """A pending registration saved by an earlier config of the same fingerprint (so the same data) runs with the
    settings of the config given now: failure budgets, blocking checks, anything outside the fingerprint. Its
    `experiment` section (origin batch, purpose, description) stays the one it was registered with."""
    exp = reg.job
    if reg.complete or not isinstance(exp, Experiment) or "config" not in reg.record:
        return
    config = {**exp.config.model_dump(mode="json"), "experiment": reg.record["config"].get("experiment", {})}
    if config == reg.record["config"]:
        return
    as_registered = Experiment(config=get_recipe(exp.recipe).config_model.model_validate(config), entry=exp.entry,
                               source_file=exp.source_file)
    updated = {**reg.record, "config": config, "config_yaml": config_yaml(as_registered, reg.record["origin_batch"])}
    s.update_registration(updated)
    reg.record.update(updated)


def _llm_calls(outcome: dict[str, RunOutcome]) -> dict[str, dict]:
    """LLM requests actually sent (not answered from the cache) by each run, from lineage."""
    by_run = {o.run_id: fp for fp, o in outcome.items()}
    if not by_run:
        return {}
    rows = lineage().query(
        "SELECT run_id, sum(requests) AS requests, sum(cache_hits) AS cache_hits FROM llm_usage "
        "WHERE list_contains(?, run_id) GROUP BY run_id", [list(by_run)])
    return {by_run[r["run_id"]]: r for r in rows}


def first_line(error: str | None) -> str:
    """The useful line of a run's error (Dagster wraps the cause in a line about the step)."""
    problem = storage_problem_in_text(error or "")
    if problem:
        return problem
    lines = [ln.strip() for ln in (error or "unknown error").splitlines() if ln.strip()]
    return next((ln for ln in reversed(lines) if not ln.startswith("dagster.")), lines[-1])[:300]


def _failed(regs: list[Registration], outcome: dict[str, RunOutcome]) -> typer.Exit:
    """Name every failed experiment with its first error; the exit code says it failed."""
    for reg in regs:
        run = outcome.get(reg.fingerprint)
        if run is not None and not run.success:
            err_console.print(f"[bold red]failed:[/] {reg.dataset}/{reg.name} ({short(reg.fingerprint)}), run {run.run_id}: "
                              f"{first_line(run.error)}", markup=True, soft_wrap=True)
    return typer.Exit(1)


def _report(regs: list[Registration], title: str, outcome: dict[str, RunOutcome] | None = None) -> None:
    calls = _llm_calls(outcome or {})
    rows = []
    for reg in regs:
        status = reg.report()
        if outcome and reg.fingerprint in outcome:
            usage = calls.get(reg.fingerprint, {"requests": 0, "cache_hits": 0})
            sent = usage["requests"] - usage["cache_hits"]
            run = outcome[reg.fingerprint]
            status = (f"generated — {sent} LLM calls, {usage['cache_hits']} cache hits" if run.success
                      else f"FAILED (run {run.run_id[:8]}): {first_line(run.error)}")
        elif reg.complete:
            status += " — 0 LLM calls"
        reuse = f"Yes (origin batch: {reg.origin_batch})" if reg.reused else "No (new)"
        rows.append([reg.batch_id, reg.record["dataset"], reg.name, short(reg.fingerprint), reuse, status])
    print_table(title, ["batch", "dataset", "experiment", "fingerprint", "data reuse", "status"], rows)


def _tree(batch_ids: list[str]) -> None:
    s = store()
    for batch_id in dict.fromkeys(batch_ids):
        tree = Tree(f"[bold]{batch_id}/")
        datasets: dict[str, Tree] = {}
        for dataset, name, view in s.views(batch_id):
            if dataset not in datasets:
                datasets[dataset] = tree.add(f"{dataset}/")
            branch = datasets[dataset]
            target = s.read_view(view)
            branch.add(f"{name} -> " + (f"../../{target}" if s.symlink_views else f"manifest: {s.uri(target)}"))
        console.print(tree)


def _as_dicts(regs: list[Registration], outcome: dict[str, RunOutcome] | None = None) -> list[dict]:
    return [{
        "batch_id": r.batch_id, "dataset": r.record["dataset"], "semantic_name": r.name,
        "fingerprint": r.fingerprint, "reused": r.reused, "origin_batch": r.origin_batch,
        "created_at": r.created_at, "complete": r.complete, "report": r.report(),
        "run": None if outcome is None or r.fingerprint not in outcome else outcome[r.fingerprint].__dict__,
    } for r in regs]


def register_command(configs: list[Path] = ConfigArgs, as_json: bool = JsonOption) -> None:
    """Register experiments in their batches (views for data that exists; nothing is generated)."""
    regs = _register_all(configs)
    if as_json:
        return print_json(_as_dicts(regs))
    _report(regs, "Registered")


def run_command(configs: list[Path] = ConfigArgs, as_json: bool = JsonOption) -> None:
    """Register, then materialize through Dagster what is not complete; print the reuse report and tree."""

    regs = _register_all(configs)
    kill_point("after_registration")
    todo = [r for r in regs if not r.complete]
    if not as_json:
        console.print(f"{len(regs)} experiments: {len(regs) - len(todo)} complete already (no LLM call), {len(todo)} to generate")
    outcome = materialize(regs, root(), tags=progress_tags())
    if as_json:
        print_json(_as_dicts(regs, outcome))
    else:
        _report(regs, "Reuse report", outcome)
        _tree([r.batch_id for r in regs])
    if not all(o.success for o in outcome.values()):
        raise _failed(regs, outcome)
    _evaluate(regs, as_json)


def _evaluate(regs: list[Registration], as_json: bool) -> None:
    """The experiments whose config asks for evaluations (`evaluation:`): evaluated now, the training effect printed."""
    from synth_assets.cli.evaluations import print_effect
    from synth_assets.cli.materialize import evaluate

    asked = [r for r in regs if isinstance(r.job, Experiment) and r.job.config.evaluation]
    if not asked:
        return
    outcome = evaluate(asked, root(), log_level="WARNING")
    if not as_json:
        print_effect([r.fingerprint for r in regs], "Training effect")
    if not all(o.success for o in outcome.values()):
        raise _failed(asked, outcome)


def regenerate_command(target: str = typer.Argument(..., help="Batch path, shared path or fingerprint."),
                       yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")) -> None:
    """Rebuild one experiment from scratch, copy-on-write: its own stages and its folder are rebuilt beside the old ones
    (the LLM cache bypassed) and swapped in atomically, so every batch view keeps showing complete data; a failed or
    killed regenerate leaves the old data served. Stages other experiments share are kept."""
    s = store()
    try:
        record = s.find(target)
        recipe = get_recipe(record["recipe"])
        if recipe.publish is None:
            raise KeyError(f"{target} is a {record['recipe']} record, which publishes nothing to regenerate")
        recipe.load(record, s)  # the inputs must still match the fingerprint
    except (KeyError, RuntimeError, ValueError) as exc:
        raise fail(str(exc)) from None
    dataset, name = record["dataset"], record["semantic_name"]
    users = s.batches_linking(dataset, name)
    if not yes:
        typer.confirm(f"Regenerate {dataset}/{name} ({short(record['fingerprint'])}), shown in {len(users)} batches "
                      f"({', '.join(users) or 'none'})?", abort=True)
    shared = {fp for other in s.registrations() if other["fingerprint"] != record["fingerprint"]
              for fp in other.get("stages", {}).values()}
    rebuilt = [stage for stage, fp in record["stages"].items() if fp not in shared]  # a stage another experiment uses stays
    reg = Registration.of_record(record)
    outcome = materialize([reg], root(), tags={**regenerate_tags(rebuilt), **progress_tags()})
    _report([reg], "Regenerated", outcome)
    if not all(o.success for o in outcome.values()):
        raise _failed([reg], outcome)

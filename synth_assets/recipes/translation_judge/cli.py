"""`synth judge`: the translation-judge recipe on drops given on the command line (mounted by `synth` through the
recipe's `cli` hook)."""

from __future__ import annotations

from pathlib import Path

import typer

from synth_assets.cli.common import JsonOption, fail, lineage, print_json, print_table, root, store
from synth_assets.cli.materialize import materialize, progress_tags
from synth_assets.core.fingerprint import short
from synth_assets.core.store_s3 import read_url
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.translation_judge.drops import load_judge_config, register_drop

app = typer.Typer()


@app.command("judge")
def judge_command(
    drops: list[str] = typer.Argument(..., help="Judge outputs (*.jsonl.out): local paths or s3:// URLs."),
    config: Path | None = typer.Option(None, "--config", help="Recipe config (default: $SYNTH_JUDGE_CONFIG or the shipped one)."),
    as_json: bool = JsonOption,
) -> None:
    """Translation-judge drops: register each, then process, synthesize minority classes and split through Dagster."""
    try:
        cfg = load_judge_config(config)
        s, lin = store(), lineage()
        regs = [register_drop(drop, read_url(drop), cfg, s, lin) for drop in drops]
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        raise fail(str(exc), 2) from None
    outcome = materialize(regs, root(), tags=progress_tags())
    rows = [{"drop": d, "dataset": r.record["dataset"], "semantic_name": r.record["semantic_name"], "fingerprint": r.fingerprint,
             "reused": r.complete, "run": outcome[r.fingerprint].__dict__ if r.fingerprint in outcome else None,
             "shared_path": s.experiment_uri(r.record["dataset"], r.record["semantic_name"])} for d, r in zip(drops, regs)]
    if as_json:
        print_json(rows)
    else:
        print_table("Translation-judge drops", ["drop", "dataset", "experiment", "fingerprint", "status", "shared path"], (
            [r["drop"], r["dataset"], r["semantic_name"], short(r["fingerprint"]),
             "reused (complete)" if r["reused"] else ("done" if r["run"] and r["run"]["success"] else "FAILED"), r["shared_path"]]
            for r in rows))
    if not all(o.success for o in outcome.values()):
        raise typer.Exit(1)

"""`synth backfill`: chosen registered partitions of a recipe, one run per partition."""

from __future__ import annotations

import datetime as dt

import typer

from synth_assets.cli.common import JsonOption, fail, print_json, print_table, root, store
from synth_assets.core.fingerprint import short
from synth_assets.core.registry import Registration
from synth_assets.core.run_tags import BACKFILL_TAG
from synth_assets.cli.materialize import materialize, progress_tags


def backfill_command(
    recipe: str = typer.Option(..., "--recipe", "-r", help="The recipe: rephrase, stories, translation_judge, curation, ..."),
    dataset: list[str] = typer.Option([], "--dataset", "-d", help="Only these datasets (repeatable)."),
    fingerprint: list[str] = typer.Option([], "--fingerprint", "-f", help="Only these fingerprints or prefixes (repeatable)."),
    as_json: bool = JsonOption,
) -> None:
    """Materialize the chosen registered (dataset, fingerprint) partitions of a recipe, one run per partition.

    Runs go through the same Dagster instance as `dagster dev`, so they show in the UI; complete
    stages are reused without LLM calls. (In the UI: select partitions of a recipe's assets, Materialize.)
    """
    s = store()
    records = [r for r in s.registrations() if r["recipe"] == recipe
               and (not dataset or r["dataset"] in dataset)
               and (not fingerprint or any(r["fingerprint"].startswith(f) for f in fingerprint))]
    if not records:
        raise fail(f"no registered {recipe} partitions match; see `synth shared` / `synth batches`")
    selected = [Registration.of_record(r) for r in records]
    backfill_id = dt.datetime.now(dt.timezone.utc).strftime("synth-%Y%m%d%H%M%S")
    outcome = materialize(selected, root(), tags={BACKFILL_TAG: backfill_id, **progress_tags()})
    rows = [{"dataset": r["dataset"], "fingerprint": r["fingerprint"], "semantic_name": r["semantic_name"],
             **outcome[r["fingerprint"]].__dict__} for r in records]
    if as_json:
        print_json({"backfill": backfill_id, "partitions": rows})
    else:
        print_table(f"Backfill {backfill_id}: {len(rows)} partitions", ["dataset", "fingerprint", "experiment", "run", "status"], (
            [r["dataset"], short(r["fingerprint"]), r["semantic_name"], r["run_id"][:8], "ok" if r["success"] else "FAILED"] for r in rows))
    if not all(r["success"] for r in rows):
        raise typer.Exit(1)

"""`synth compare`: experiments side by side, by the parameters that differ and by their quality."""

from __future__ import annotations

import json
from typing import Any

import typer

from synth_assets.cli.common import JsonOption, console, fail, lineage, print_json, print_table, store
from synth_assets.cli.evaluations import compare_figures
from synth_assets.cli.quality import figures_of
from synth_assets.core.fingerprint import short
from synth_assets.core.parameters import differing, flatten
from synth_assets.quality.figures import notes_markdown, shown_figure
from synth_assets.quality.metrics import SHOWN_FIGURES

def cell(value: Any, width: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def _records(targets: list[str]) -> list[dict[str, Any]]:
    """The experiments named: every member of a batch given alone, else each target."""
    s = store()
    if len(targets) == 1 and (targets[0] in s.batches() or s.relative_key(targets[0]) in s.batches()):
        batch = targets[0] if targets[0] in s.batches() else s.relative_key(targets[0])
        records = [s.registration(m["fingerprint"]) for m in lineage().batch_members(batch)]
        if not records:
            raise fail(f"batch {batch} has no experiments")
        return records
    if len(targets) < 2:
        raise fail("compare a batch, or two or more experiments (batch path, shared path or fingerprint)", 2)
    return [s.find(t) for t in targets]


def compare_command(targets: list[str] = typer.Argument(..., help="A batch, or two or more experiments (batch path, shared path or fingerprint)."),
                    sort: str = typer.Option(None, "--sort", help="Order by a quality column, an evaluator (its metric; "
                                             "`probe.delta`: its difference against the original), best first, or a parameter."),
                    as_json: bool = JsonOption) -> None:
    """The parameters that differ between experiments and their quality side by side (a sweep compared by quality)."""
    try:
        records = _records(targets)
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    params = [flatten(r["params"]) for r in records]
    different = {k: [p.get(k) for p in params] for k in differing(params)}
    same = {k: params[0].get(k) for k in sorted(set().union(*params)) if k not in different}
    effects, effect_texts = compare_figures([r["fingerprint"] for r in records])
    rows = [{"fingerprint": r["fingerprint"], "dataset": r["dataset"], "semantic_name": r["semantic_name"],
             "params": {k: p.get(k) for k in different}, "quality": figures, "evaluations": effects[r["fingerprint"]]}
            for r, p, figures in zip(records, params, figures_of(records))]
    if sort:
        def key(row: dict[str, Any]) -> tuple:
            measured = {**row["quality"], **row["evaluations"]}
            value = measured.get(sort, row["params"].get(sort))
            return (value is None, -value if isinstance(value, (int, float)) and sort in measured else str(value))
        if sort not in SHOWN_FIGURES and not any(sort in row["quality"] or sort in row["evaluations"] or sort in row["params"]
                                                 for row in rows):
            raise fail(f"--sort {sort!r}: neither a quality column, an evaluator nor a differing parameter", 2)
        rows.sort(key=key)
    if as_json:
        out: dict[str, Any] = {"experiments": rows, "different": different, "same": same}
        if len(records) == 2:
            out.update(a=records[0]["fingerprint"], b=records[1]["fingerprint"])
        return print_json(out)
    labels = [f"{'AB'[i]}: " if len(rows) == 2 else "" for i in range(len(rows))]
    for label, row in zip(labels, rows):
        console.print(f"{label or '- '}{row['dataset']}/{row['semantic_name']} ({short(row['fingerprint'])})")
    header = ["", *(f"{label}{row['semantic_name']}" for label, row in zip(labels, rows))]
    print_table("Different", header, ([k, *(cell(row["params"][k], 40) for row in rows)] for k in different))
    print_table("Quality", header, ([c, *(shown_figure(row["quality"], c) for row in rows)] for c in SHOWN_FIGURES))
    console.print(notes_markdown(), markup=False)
    effect_rows = list(dict.fromkeys(k for row in rows for k in effect_texts[row["fingerprint"]]))
    if effect_rows:
        print_table("Training effect", header, ([k, *(effect_texts[row["fingerprint"]].get(k, "n/a") for row in rows)] for k in effect_rows))
    print_table("Same in all", ["parameter", "value"], ([k, cell(v)] for k, v in same.items()))

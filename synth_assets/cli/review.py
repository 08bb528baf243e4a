"""`synth review`: people label a random sample of an experiment's rewrites; the reviewed precision follows.

    synth review TARGET --sample 20                      # in the terminal: same / not the same / skip / quit
    synth review TARGET --sample 20 --export F.jsonl     # for scripts: label each line, then
    synth review TARGET --import F.jsonl
    synth review TARGET --export-pairs P.jsonl           # the labels as calibration pairs (synth calibrate --pairs)
    synth review TARGET                                  # the reviewed figures
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel
from rich.prompt import Prompt

from synth_assets.cli.common import JsonOption, console, err_console, fail, lineage, print_json, print_table, root, store
from synth_assets.core.fingerprint import short
from synth_assets.core.lineage.reviews import record_reviews, reviews
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.figures import NOTES, shown_figure
from synth_assets.quality.reviews import (NOT_SAME, SAME, Slot, calibration_pairs, current_labels, figures_for, read_review_file, sample,
                                          write_review_file)
from synth_assets.recipes.registry import get as get_recipe

_ANSWERS = {"y": SAME, "n": NOT_SAME, "s": None, "q": "quit"}


def _record(slot_labels: list[tuple[Slot, str]], reviewer: str) -> int:
    return record_reviews(lineage(), [{**s.to_dict(), "fingerprint": s.experiment, "label": label} for s, label in slot_labels],
                         reviewer=reviewer)


def _ask(slots: list[Slot], reviewer: str) -> int:
    """Each slot in a panel, then the prompt; every answer is recorded at once (quitting loses nothing)."""
    done = 0
    for number, slot in enumerate(slots, start=1):
        console.print(Panel(f"[bold]original[/]  {slot.original}\n[bold]rewrite[/]   {slot.rewrite}",
                            title=f"{number}/{len(slots)}  row {slot.row}, {slot.field}", title_align="left"))
        answer = Prompt.ask("Same meaning? [y] same, [n] not the same, [s] skip, [q] quit", choices=list(_ANSWERS),
                            show_choices=False, console=console)
        if _ANSWERS[answer] == "quit":
            break
        if _ANSWERS[answer] is not None:
            done += _record([(slot, _ANSWERS[answer])], reviewer)
    return done


def _slots(record: dict[str, Any]) -> list[Slot]:
    """The experiment's rewrites a person can review, as its recipe finds them (`Recipe.review_slots`)."""
    recipe = get_recipe(record["recipe"])
    if recipe.review_slots is None:
        raise ValueError(f"a {recipe.name} experiment has no rewrites to review")
    return recipe.review_slots(store(), record)


def _refresh(record: dict[str, Any], slots: list[Slot]) -> dict[str, Any]:
    """The experiment's reviewed figures, written into its lineage quality figures and reported to Dagster."""
    from synth_assets.cli.quality import figures_of

    fingerprint = record["fingerprint"]
    figures = figures_for(lineage(), fingerprint, slots)
    [current] = figures_of([record])
    lineage().record_quality(fingerprint=fingerprint, dataset=record["dataset"], metrics={**current, **figures})
    try:
        from synth_assets.cli.materialize import dagster_instance
        from synth_assets.defs.batches.reviewed import report_reviewed

        report_reviewed(dagster_instance(root()), store(), lineage(), record, figures)
    except Exception as exc:  # noqa: BLE001 - lineage holds the figures; the UI catches up at the next publish
        err_console.print(f"[yellow]warning:[/] reviewed figures not reported to Dagster: {exc}")
    return figures


def review_command(target: str = typer.Argument(..., help="Batch path, shared path or fingerprint of one experiment."),
                   sample_size: int = typer.Option(None, "--sample", min=1, help="Review N random rewritten rows not reviewed yet."),
                   seed: int = typer.Option(0, "--seed", help="Seed of the sample's permutation."),
                   export: Path = typer.Option(None, "--export", dir_okay=False, help="With --sample: write the rows to label to F."),
                   import_file: Path = typer.Option(None, "--import", exists=True, dir_okay=False,
                                                    help='Record labels from F (the exported keys plus "label": "same"|"not the same"|"skip").'),
                   export_pairs: Path = typer.Option(None, "--export-pairs", dir_okay=False,
                                                     help="Write every label of the experiment as calibration pairs (synth calibrate --pairs)."),
                   reviewer: str = typer.Option(None, "--reviewer", help="Who labels (default: the login name)."),
                   as_json: bool = JsonOption) -> None:
    """Label a random sample of an experiment's rewrites (original and rewrite side by side) as the same meaning or
    not; the experiment's figures then carry reviewed_n, reviewed_precision and its 95 % Wilson interval."""
    if sum(x is not None for x in (export, import_file, export_pairs)) > 1:
        raise fail("give one of --export, --import, --export-pairs", 2)
    if export is not None and sample_size is None:
        raise fail("--export needs --sample N", 2)
    try:
        record = store().find(target)
        slots = _slots(record)
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    except (FileNotFoundError, ValueError) as exc:
        raise fail(f"{target}: {exc}") from None
    fingerprint, who = record["fingerprint"], reviewer or getpass.getuser()
    name = f"{record['dataset']}/{record['semantic_name']} ({short(fingerprint)})"
    labels = reviews(lineage(), fingerprint)
    if export_pairs is not None:
        pairs = calibration_pairs(labels)
        export_pairs.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
        return console.print(f"{len(pairs)} labelled pairs of {name} written to {export_pairs}")
    if import_file is not None:
        try:
            labelled = read_review_file(import_file, fingerprint, slots)
        except ConfigError as exc:
            raise fail(str(exc), 2) from None
        (err_console if as_json else console).print(f"{_record(labelled, who)} labels recorded for {name}")
    elif sample_size is not None:
        reviewed = {(r["row_index"], r["field"], r["content_hash"]) for r in current_labels(labels, slots)}
        chosen = sample(slots, sample_size, seed=seed, reviewed=reviewed)
        if not chosen:
            return console.print(f"{name}: every rewritten row is reviewed already ({len(reviewed)} labels)")
        if export is not None:
            write_review_file(export, chosen)
            return console.print(f"{len(chosen)} rewrites of {name} written to {export}: set each line's \"label\" to "
                                 f"\"same\", \"not the same\" or \"skip\", then synth review {target} --import {export}")
        console.print(f"{name}: {len(chosen)} rewrites of {len({s.row for s in chosen})} rows ({len(slots)} rewrites in all)")
        console.print(f"{_ask(chosen, who)} labels recorded")
    figures = _refresh(record, slots) if (import_file is not None or sample_size is not None) else figures_for(lineage(), fingerprint, slots)
    if as_json:
        return print_json({"fingerprint": fingerprint, "rewrites": len(slots), **figures})
    print_table(f"Reviewed precision of {name}", ["figure", "value", "what it measures"],
                [["rewrites", len(slots), "rewritten fields of published rows (copies of the original are not reviewed)"],
                 ["reviewed_n", figures["reviewed_n"], NOTES["reviewed_n"]],
                 ["reviewed_precision", shown_figure(figures, "reviewed_precision"), NOTES["reviewed_precision"]]])

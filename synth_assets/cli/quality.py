"""`synth quality` (an experiment's quality figures) and `synth calibrate` (validators against labelled pairs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from synth_assets.cli.common import JsonOption, fail, lineage, print_json, print_table, root, store
from synth_assets.core.fingerprint import short
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.figures import INTERVALS, NOTES, shown_figure
from synth_assets.recipes.registry import load_experiments


def figures_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each experiment's quality figures: from lineage (one query for all), else from its published metadata; {} when
    it has none."""
    recorded = lineage().quality([r["fingerprint"] for r in records])
    return [recorded[r["fingerprint"]] if r["fingerprint"] in recorded else _published_figures(r) for r in records]


def _published_figures(record: dict[str, Any]) -> dict[str, Any]:
    try:
        return store().experiment_metadata(record["dataset"], record["semantic_name"]).get("summary", {}).get("quality") or {}
    except FileNotFoundError:
        return {}


def quality_command(target: str = typer.Argument(..., help="Batch path, shared path or fingerprint."),
                    as_json: bool = JsonOption) -> None:
    """Quality figures of one published experiment: rewrite rate beside the estimated correct rate and the reviewed
    precision (synth review), acceptance rate, rejections per validator and reason, truncation, similarity to the
    original, diversity, length ratio, labels, decontamination hits."""
    try:
        record = store().find(target)
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    [figures] = figures_of([record])
    if not figures:
        raise fail(f"{record['dataset']}/{record['semantic_name']} has no quality figures (not published yet, or its recipe "
                   "does not rewrite)")
    if as_json:
        return print_json({"fingerprint": record["fingerprint"], "dataset": record["dataset"],
                           "semantic_name": record["semantic_name"], **figures})
    bounds = {b for pair in INTERVALS.values() for b in pair}  # shown inside their figure's cell
    order = [k for k in NOTES if k in figures] + [k for k in figures if k not in NOTES and k not in bounds]
    print_table(f"Quality of {record['dataset']}/{record['semantic_name']} ({short(record['fingerprint'])})",
                ["metric", "value", "what it measures"], ([k, shown_figure(figures, k), NOTES.get(k, "")] for k in order))


def calibrate_command(config: Path = typer.Argument(..., exists=True, dir_okay=False, help="Experiment YAML whose validators to measure or fit."),
                      pairs: Path | None = typer.Option(None, "--pairs", exists=True, dir_okay=False,
                                                        help='Labelled pairs JSONL to measure on: {"original", "rephrased", '
                                                             '"label": "same"|"not the same", "kind"?, "split"?}'),
                      fit_pairs: Path | None = typer.Option(None, "--fit", exists=True, dir_okay=False,
                                                            help="Fit thresholds (and a logistic combination) to these pairs, "
                                                                 "k-fold; write the profile to --out"),
                      out: Path | None = typer.Option(None, "--out", dir_okay=False, help="Profile file written by --fit"),
                      split: str | None = typer.Option(None, "--split", help="Only the pairs of this half (dev | test)"),
                      folds: int = typer.Option(5, "--folds", min=2, help="k of the k-fold cross-validation (--fit)"),
                      combine: str = typer.Option("best", "--combine", help="--fit: all | logistic | best (held-out accuracy)"),
                      judge_model: str | None = typer.Option(None, "--judge-model",
                                                             help="Model of every judge (local: a GGUF path or name)"),
                      as_json: bool = JsonOption) -> None:
    """Accuracy, precision, recall and F1 (for "same") of a config's validators on labelled pairs, with the confusion
    matrix, accuracy per kind and per validator, and pairs/s; with --fit, fit them into a validation profile."""
    from synth_assets.cli.calibration_fit import fit_command, measure

    if (pairs is None) == (fit_pairs is None):
        raise fail("give --pairs (measure) or --fit (fit a profile), one of them", 2)
    if fit_pairs is not None and out is None:
        raise fail("--fit needs --out PROFILE (the validation profile to write)", 2)
    if combine not in ("all", "logistic", "best"):
        raise fail(f"--combine must be all, logistic or best, got {combine!r}", 2)
    try:
        exp = load_experiments(config, root())[0]
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    if exp.config.validation is None or exp.config.validation.validators is None:
        raise fail(f"{config}: no validators to calibrate (validation.validators)", 2)
    if fit_pairs is not None:
        return fit_command(exp, fit_pairs, out, split=split, folds=folds, combine=combine, judge_model=judge_model, as_json=as_json)
    measure(exp, pairs, split=split, judge_model=judge_model, as_json=as_json)

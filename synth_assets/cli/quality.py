"""`synth quality` (an experiment's quality figures) and `synth calibrate` (validators against labelled pairs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from synth_assets.cli.common import JsonOption, console, fail, lineage, print_json, print_table, root, store
from synth_assets.core.config import load_experiments
from synth_assets.core.fingerprint import short
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.figures import INTERVALS, NOTES, shown, shown_figure  # noqa: F401 - shown: for the other commands


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


def calibrate_command(config: Path = typer.Argument(..., exists=True, dir_okay=False, help="Experiment YAML whose validators to measure."),
                      pairs: Path = typer.Option(..., "--pairs", exists=True, dir_okay=False,
                                                 help='Labelled pairs JSONL: {"original", "rephrased", "label": "same"|"not the same", "kind"?}'),
                      as_json: bool = JsonOption) -> None:
    """Accuracy, precision, recall and F1 (for "same") of a config's validators on labelled pairs, with the confusion
    matrix, accuracy per kind and per validator, and pairs/s."""
    from resources.llm import LLMResource
    from resources.llm.cache import cache_options
    from synth_assets.quality.calibration import calibrate
    from synth_assets.quality.validators import build_validators
    from synth_assets.quality.validators.judge import ResourceChat
    from synth_assets.recipes.rephrase.judging import resolved_validators

    try:
        exp = load_experiments(config, root())[0]
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    if exp.config.validation is None or exp.config.validation.validators is None:
        raise fail(f"{config}: no validators to calibrate (validation.validators)", 2)
    validators = build_validators(resolved_validators(exp),
                                  chat_for=lambda spec: ResourceChat(LLMResource(backend=spec.backend, **cache_options(root()))))
    try:
        report = calibrate(pairs, validators).to_dict()
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    if as_json:
        return print_json({k: v for k, v in report.items() if k != "errors"})
    console.print(f"{report['n']} pairs, validators {' + '.join(report['validators'])}: accuracy {report['accuracy']:.3f}, "
                  f"precision {report['precision']:.3f}, recall {report['recall']:.3f}, F1 {report['f1']:.3f} "
                  f"({report['pairs_per_s']:.1f} pairs/s)")
    confusion = report["confusion"]
    print_table("Confusion (rows: label, columns: predicted)", ["label", "same", "not the same"],
                ([label, confusion[label]["same"], confusion[label]["not the same"]] for label in ("same", "not the same")))
    if report["per_kind"]:
        print_table("Accuracy per kind", ["kind", "accuracy"], ([k, f"{v:.3f}"] for k, v in report["per_kind"].items()))
    print_table("Per validator", ["validator", "accuracy", "precision", "recall", "f1", "pairs/s"],
                ([name, *(f"{f[k]:.3f}" for k in ("accuracy", "precision", "recall", "f1")), f"{f['pairs_per_s']:.1f}"]
                 for name, f in report["per_validator"].items()))

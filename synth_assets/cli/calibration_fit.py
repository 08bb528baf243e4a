"""`synth calibrate`'s work: measure a config's validators on labelled pairs, or fit them into a validation profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synth_assets.cli.common import console, fail, print_json, print_table, root, store
from synth_assets.core.config import Experiment
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.validators.specs import JUDGE_KINDS
from synth_assets.recipes.registry import get as get_recipe


def _resolved(exp: Experiment) -> list[Any]:
    """The experiment's validator specs, as its recipe resolves them (`Recipe.validators`)."""
    recipe = get_recipe(exp.entry.recipe)
    if recipe.validators is None:
        raise fail(f"{exp.source_file}: a {recipe.name} experiment has no validators to calibrate", 2)
    return recipe.validators(exp)


def _validators(exp: Experiment, judge_model: str | None) -> tuple[list[Any], list[Any]]:
    """The experiment's resolved specs (judges on `judge_model` when given) and the validators built from them."""
    from synth_assets.llm.cache import cache_options
    from synth_assets.llm.client import LLMClient
    from synth_assets.quality.validators import build_validators
    from synth_assets.quality.validators.judge import ResourceChat

    from synth_assets.llm.backends.local_server import resolve_gguf
    from synth_assets.llm.errors import LLMConfigError

    specs = [s.model_copy(update={"model": judge_model}) if judge_model and s.kind in JUDGE_KINDS else s
             for s in _resolved(exp)]
    for spec in specs:
        if spec.kind in JUDGE_KINDS and spec.backend == "local":
            try:
                resolve_gguf(spec.model)
            except LLMConfigError as exc:
                raise fail(f"validator {spec.name!r}: {exc}", 2) from None
    chat_for = lambda spec: ResourceChat(LLMClient(backend=spec.backend, model=spec.model, **cache_options(root())))  # noqa: E731
    return specs, build_validators(specs, chat_for=chat_for)


def _pairs(path: Path, split: str | None) -> list[Any]:
    from synth_assets.quality.calibration import load_pairs, of_split

    try:
        return of_split(load_pairs(path), split)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    except ValueError as exc:
        raise fail(f"{path}: {exc}", 2) from None


def measure(exp: Experiment, path: Path, *, split: str | None, judge_model: str | None, as_json: bool) -> None:
    """The report; on the validator-precision pairs (their test half) the precision is kept for estimated_correct_rate
    too, so a validator set with an LLM judge (never measured inline) gets it."""
    from synth_assets.quality import validator_precision
    from synth_assets.quality.calibration import calibrate

    specs, validators = _validators(exp, judge_model)
    pairs = _pairs(path, split)
    report = calibrate(pairs, validators, exp.config.validation.combine).to_dict()
    kept = validator_precision.record(store(), specs, path, pairs, report)
    if as_json:
        return print_json({k: v for k, v in report.items() if k != "errors"} | {"validator_precision_kept": kept is not None})
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
    if kept is not None:
        shown = "n/a (none accepted)" if kept["precision"] is None else f"{kept['precision']:.3f} [{kept['low']:.3f}, {kept['high']:.3f}]"
        console.print(f"precision {shown} kept for these validators' estimated_correct_rate ({path.name}, {len(pairs)} pairs)")


def fit_command(exp: Experiment, path: Path, out: Path, *, split: str | None, folds: int, combine: str,
                judge_model: str | None, as_json: bool) -> None:
    from synth_assets.quality.fitting import fit

    specs, validators = _validators(exp, judge_model)
    pairs = _pairs(path, split)
    # judges without their prompts: a profile's judge takes the prompts of the dataset it validates
    raw = [s.model_dump(mode="json", exclude={"prompt", "system", "examples"} if s.kind in JUDGE_KINDS else set())
           for s in specs]
    try:
        profile, figures = fit(pairs, validators, raw, folds=folds, combine=combine,
                               source=f"{path.name}{f' ({split} half)' if split else ''}")
    except ValueError as exc:
        raise fail(f"{path}: {exc}", 2) from None
    out.write_text(json.dumps(profile.model_dump(), indent=2) + "\n", encoding="utf-8")
    if as_json:
        return print_json({"profile": str(out), **figures})
    cv = figures["cv_accuracy"]
    console.print(f"{figures['n']} pairs, {folds}-fold held-out accuracy: all-must-accept {cv['all']:.3f}, logistic "
                  f"{cv['logistic']:.3f}; kept {figures['combine']} -> {out}")
    print_table("Fitted validators", ["validator", "settings"],
                ([v["name"], json.dumps({k: x for k, x in v.items() if k not in ("name", "kind")})] for v in profile.validators))
    if profile.combine.kind == "logistic":
        print_table("Logistic combination", ["feature", "coef"],
                    ([f"{f.validator}.{f.use}", f"{c:.3f}"] for f, c in zip(profile.combine.features, profile.combine.coef)))

"""Rephrase: rewrite text fields of a dataset's records, keep meaning and label; validators accept or reject.

Stages: `source` (the split's records, limited for pilots) -> `generated` (asset `rephrased`:
`generation.n` candidates per record and field) -> `validated` (validators judge the candidates; the
chosen rewrite replaces the field, else the original stays) -> `published` (decontaminated
`{Dataset}/{dataset}_train.jsonl`, the evaluation splits copied, quality figures in the metadata; rows
whose rewrite introduced evaluation text dropped, rows whose overlap was in the source kept, both counted).

Fingerprinted per stage: source = recipe, dataset, sha256 of the split files, split, limit (clamped
to the split's size), sample mode and seed; generated = sampling parameters, prompts, rewritten
fields, n and allow_truncated when set; validated = the resolved validators and selection (or, for
configs without validators, the free-text judge's sampling, prompt and examples) and the pass-rate
floor; published = decontamination n-gram size, reference files and source_overlap when it is `drop`.
Not fingerprinted: failure budgets, the calibration check, decontamination.blocking.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synth_assets.core.catalog import CatalogEntry
from synth_assets.core.config import SAMPLING_KEYS, Experiment, sampling_params
from synth_assets.core.fields import parse
from synth_assets.core.fingerprint import Fingerprints
from synth_assets.core.records import META, select_records, training_row
from synth_assets.core.store import DirWriter
from synth_assets.quality.calibration import calibrate
from synth_assets.quality.figures import notes_markdown, shown_figure
from synth_assets.quality.metrics import CORRECTNESS_FIGURES, SHOWN_FIGURES, metrics_markdown
from synth_assets.quality.profile import SHIPPED_PROFILE, load_profile
from synth_assets.quality.validators.specs import JUDGE_KINDS, JUDGE_SPECS
from synth_assets.recipes.base import Check, CheckResult, Markdown, Published, Recipe, Rows, Stage, StageFailed, StageRun
from synth_assets.recipes.dataset_experiment_config import (DatasetExperimentConfig, check_evaluation, rewrite_fields, validation_examples,
                                                            validation_prompt)
from synth_assets.recipes.dataset_experiment_stages import (PASS_RATE, experiment_fingerprints, experiment_readme_lines, publish_train_split,
                                                            registered_loader, validated_metadata)
from synth_assets.recipes.rephrase import checks, judging, previews, prompt_checks, publishing, reviewing, rewrite
from synth_assets.recipes.rephrase.correctness import correctness_figures
from synth_assets.recipes.rephrase.publishing import DECONTAMINATION_FIGURES

# without `validators` or `profile`, the shipped default profile (quality/profiles/default.json, fitted on the dev half
# of the rewrite calibration set; its figures on the test half are in the README)
JUDGE_SETTINGS = ("backend", "model", "temperature", "max_tokens", "seed")  # section settings a judge validator takes
CALIBRATION_FILE = "calibration.json"


def _roots(paths: list[str]) -> set[str]:
    """The top-level fields of field paths (`choices.text[*]` -> `choices`)."""
    return {parse(p).root for p in paths}


def check_entry(entry: CatalogEntry) -> None:
    if "train" not in entry.splits:
        raise ValueError("a rephrase dataset needs splits.train")
    if not entry.rewrite_fields:
        raise ValueError("a rephrase dataset needs rewrite_fields")


def _judge_kind(spec: Any) -> str | None:
    """The kind of a judge validator (`judge`, `logprob_judge`, bare or as a dict), None for any other validator."""
    kind = spec if isinstance(spec, str) else spec.get("kind") if isinstance(spec, dict) else None
    return kind if kind in JUDGE_KINDS else None


def _takes(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The validation section's settings a judge of this kind has a field for (a logprob judge has no temperature)."""
    return {k: v for k, v in settings.items() if k in JUDGE_SPECS[kind].model_fields}


def complete_config(raw: dict[str, Any], entry: CatalogEntry, folder: Path) -> dict[str, Any]:
    """Absent sections get the recipe's defaults (validators, decontamination); the validation section's sampling
    settings go to the judge validators that do not set their own; relative files resolve from the config."""
    raw = dict(raw)
    validation = dict(raw.get("validation") or {})
    if "validators" not in validation:  # a profile's validators and combination, inlined: later edits of the file
        profile_path = folder / validation["profile"] if validation.get("profile") else SHIPPED_PROFILE  # do not change it
        profile = load_profile(profile_path)
        validation["validators"] = profile.validators
        if profile.combine.kind != "all":
            validation["combine"] = profile.combine.model_dump()
        if validation.get("profile"):
            validation["profile"] = str(profile_path)
    validators = list(validation["validators"])
    settings = {k: validation[k] for k in JUDGE_SETTINGS if k in validation}
    judges = {kind for kind in map(_judge_kind, validators) if kind}
    if settings and judges:
        validators = [{**_takes(kind, settings), **({"kind": kind} if isinstance(v, str) else v)} if (kind := _judge_kind(v)) else v
                      for v in validators]
        taken = {k for kind in judges for k in _takes(kind, settings)}
        validation = {k: v for k, v in validation.items() if k not in taken}
    validation["validators"] = validators
    if isinstance(validation.get("calibration"), dict) and validation["calibration"].get("pairs"):
        validation["calibration"] = {**validation["calibration"], "pairs": str(folder / validation["calibration"]["pairs"])}
    raw["validation"] = validation
    decontamination = dict(raw.get("decontamination") or {})
    decontamination["references"] = [str(folder / p) for p in decontamination.get("references", [])]
    raw["decontamination"] = decontamination
    return raw


def check_experiment(exp: Experiment, path: str, lines: dict) -> None:
    """The split exists, the data parses and has the fields, prompts render, backends can run (before registering)."""
    blame = checks.Blame(exp, path, lines)
    if ("validation", "profile") in lines and ("validation", "validators") in lines:
        raise blame.config("give validators or a profile, not both (a profile brings its own validators)", "validation", "profile")
    idle = [key for key in SAMPLING_KEYS if ("validation", key) in lines and not checks.is_default(exp.config.validation, key)]
    if idle:
        raise blame.config(f"validation.{idle[0]} has no effect without a judge: sampling settings belong to a judge validator, "
                           f"e.g. validators: [rules, similarity, {{kind: judge, {idle[0]}: ...}}]", "validation", idle[0])
    if exp.config.dataset.split not in exp.entry.splits:
        raise blame.config(f"dataset {exp.entry.name} has no split {exp.config.dataset.split!r} "
                           f"(its splits: {', '.join(exp.entry.splits)})", "dataset", "split")
    unknown = [f for f in rewrite_fields(exp) if parse(f).root not in _roots(exp.entry.fields)]
    if unknown and exp.config.generation.fields:
        raise blame.config(f"dataset {exp.entry.name} has no field {unknown}", "generation", "fields")
    if unknown:
        raise exp.entry.error(f"rewrite_fields {unknown} are not in fields {exp.entry.fields}", "rewrite_fields",
                              exp.entry.rewrite_fields.index(unknown[0]))
    rows = checks.check_data(exp, blame)
    prompt_checks.check_prompts(exp, blame, rows)
    checks.check_validator_fields(exp, blame, rows)
    checks.check_backends(exp, blame)
    for index, reference in enumerate(publishing.reference_files(exp)):
        if not reference.is_file():
            raise blame.config(f"reference file not found: {reference}", "decontamination", "references", index)
    calibration = exp.config.validation.calibration if exp.config.validation else None
    if calibration is not None and not Path(calibration.pairs).is_file():
        raise blame.config(f"calibration pairs not found: {calibration.pairs}", "validation", "calibration", "pairs")
    check_evaluation(exp, path, lines)


def fingerprints(exp: Experiment) -> Fingerprints:
    cfg = exp.config
    validation = None
    if cfg.validation is not None and cfg.validation.validators is None:
        validation = {**sampling_params(cfg.validation), "prompt": validation_prompt(exp), "examples": validation_examples(exp)}
    elif cfg.validation is not None:
        validation = {"validators": [s.model_dump(mode="json") for s in judging.resolved_validators(exp)],
                      "select": cfg.validation.select}
        if cfg.validation.combine is not None and cfg.validation.combine.kind != "all":
            validation["combine"] = cfg.validation.combine.model_dump()
    rows = len(exp.entry.rows(cfg.dataset.split))
    limit = cfg.dataset.limit if cfg.dataset.limit is not None and cfg.dataset.limit < rows else None
    source = {"data_sha256": exp.entry.content_hash, "split": cfg.dataset.split, "limit": limit,
              "sample": cfg.dataset.sample, "sample_seed": cfg.dataset.seed}
    generation = {"rewrite_fields": rewrite_fields(exp)}
    if cfg.generation.n != 1:
        generation["n"] = cfg.generation.n
    if cfg.generation.allow_truncated:
        generation["allow_truncated"] = True
    decontamination = publishing.decontamination_params(exp)
    return experiment_fingerprints(exp, source=source, generation=generation, validation=validation,
                                   published={"decontamination": decontamination} if decontamination else {})


def _generate(run: StageRun) -> Rows:
    exp = run.job
    jobs = rewrite.generation_requests(exp, run.upstream)
    return rewrite.apply_generations(exp, run.upstream, jobs, run.chat(exp.config.generation, [r for _, _, r in jobs]))


def _validate(run: StageRun) -> Rows:
    v = run.job.config.validation
    validators = judging.build(run) if v is not None and (v.validators is not None or v.calibration is not None) else None
    rows = judging.validate(run, validators)
    if v is not None and v.calibration is not None:
        report = calibrate(v.calibration.pairs, validators.validators, v.combine).to_dict()
        run.extra_files[CALIBRATION_FILE] = json.dumps(report, indent=2, default=str).encode()
    return rows


def _calibration(run: StageRun, rows: Rows) -> CheckResult:
    """The validators' accuracy on the labelled pairs, at least `validation.calibration.min_accuracy`."""
    calibration = run.job.config.validation.calibration if run.job.config.validation else None
    if calibration is None:
        return CheckResult(True, {"calibration": "not configured (validation.calibration)"})
    report = json.loads(run.store.read_bytes(f"{run.stage_files()}/{CALIBRATION_FILE}"))
    figures = {k: report[k] for k in ("accuracy", "precision", "recall", "f1", "n") if k in report}
    return CheckResult(report["accuracy"] >= calibration.min_accuracy, {**figures, "min_accuracy": calibration.min_accuracy,
                                                                        "per_kind": report.get("per_kind", {})})


def _publish(run: StageRun, rows: Rows, files: DirWriter) -> Published:
    exp: Experiment = run.job
    answered = [r for r in rows if not rewrite.request_failed(r)]
    altered = publishing.altered_rows(exp, answered)
    if altered:
        raise StageFailed(f"{len(altered)} rows changed outside their rewritten values, nothing published: {'; '.join(altered[:5])}")
    train = [training_row(r) for r in answered]
    source = exp.entry.rows(exp.config.dataset.split)
    hits = publishing.contamination(exp, train, [source[r[META]["row"]] for r in answered])
    dropped, decontamination = publishing.overlap(exp, hits)
    kept = [r for i, r in enumerate(train) if i not in dropped]
    published = publish_train_split(exp, kept, files, rows)
    figures = publishing.quality(exp, rows, hits)
    figures.update(correctness_figures(run, rows, kept, figures["rewrite_rate"]))
    try:
        figures["calibration_accuracy"] = json.loads(run.store.read_bytes(
            f"{run.stage_files('validated')}/{CALIBRATION_FILE}"))["accuracy"]
    except FileNotFoundError:
        pass
    return Published(published.data_file, published.rows, {**published.summary, "quality": figures, "decontamination": decontamination})


def _summary(run: StageRun) -> dict[str, Any]:
    if run.published_summary is not None:  # checked before the folder is complete
        return run.published_summary
    return run.store.experiment_metadata(run.dataset, run.record["semantic_name"]).get("summary", {})


def _decontamination(run: StageRun, rows: Rows) -> CheckResult:
    """No published row's rewrite introduced text of the evaluation splits or references (those rows were dropped);
    overlap already in the source records does not fail it unless `decontamination.source_overlap: drop`."""
    found = _summary(run).get("decontamination", {"hits": 0, "listed": []})
    dropped = found.get("dropped", found.get("dropped_rows", 0))  # `dropped_rows`: summaries written before source_overlap
    cfg = run.job.config.decontamination
    passed = dropped == 0 or (cfg is not None and not cfg.blocking)
    counts = {k: found[k] for k in ("introduced", "source_overlap", "ngram") if k in found}
    return CheckResult(passed, {"dropped": dropped, **counts, "hits": found["hits"], "rows": found["listed"]})


def _published_metadata(run: StageRun, rows: Rows) -> dict[str, Any]:
    figures = _summary(run).get("quality")
    if not figures:
        return {}
    numbers = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()
               if k in ("rewrite_rate", *CORRECTNESS_FIGURES, "acceptance_rate", "truncation_rate", "similarity_mean", "distinct_2",
                        *DECONTAMINATION_FIGURES)}
    # the UI shows markdown of 1,000 characters or more behind a button: the headline figures (with their intervals)
    # at once, every count and rejection reason in `quality_details`, what the figures mean in `figure_notes`
    headline = {k: shown_figure(figures, k) for k in ("rows", "accepted", *SHOWN_FIGURES) if k in figures}
    return {"quality": Markdown(metrics_markdown(headline)), "quality_details": Markdown(metrics_markdown(figures)),
            "figure_notes": Markdown(notes_markdown()), **numbers}


def _required(exp: Experiment) -> list[str]:
    """The top-level fields every row keeps: those holding rewritten values or the label."""
    used = _roots(rewrite_fields(exp) + ([exp.entry.label_field] if exp.entry.label_field else []))
    return [f for f in dict.fromkeys(parse(p).root for p in exp.entry.fields) if f in used]


def _readme_lines(record: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    figures = summary.get("quality")
    table = ["", metrics_markdown(figures, title="Quality").rstrip("\n"), "", notes_markdown().rstrip("\n")] if figures else []
    overlap = [publishing.overlap_line(summary["decontamination"])] if "source_overlap" in summary.get("decontamination", {}) else []
    return experiment_readme_lines(record, summary) + overlap + table


CALIBRATION = Check("calibration", "Accuracy of the experiment's validators on labelled pairs (validation.calibration), at least "
                    "min_accuracy.", _calibration, blocking=True)
DECONTAMINATION = Check("decontamination", "No published row's rewrite introduced text of the evaluation splits or reference files: "
                        "such rows are dropped and listed; rows whose overlap was already in the source are kept and counted.",
                        _decontamination, blocking=True)

RECIPE = Recipe(
    name="rephrase",
    description="Rewrite fields of a dataset's records with an LLM, keeping meaning and label; validators accept or reject each rewrite.",
    stages=(
        Stage("source", "source", "The split's records (limited and sampled for pilot runs).", lambda run: select_records(run.job),
              reads_upstream=False, required_fields=_required),
        Stage("generated", "rephrased", "generation.n candidate rewrites per record and field.", _generate, resources=("llm",),
              required_fields=_required, max_failure_rate=lambda exp: exp.config.generation.max_failure_rate),
        Stage("validated", "validated", "Validators judge the candidates; the chosen rewrite replaces the field, else the original stays.",
              _validate, resources=("llm",), required_fields=_required, checks=(PASS_RATE, CALIBRATION), metadata=validated_metadata,
              max_failure_rate=lambda exp: exp.config.validation.max_failure_rate if exp.config.validation else 0.0),
        Stage("published", "published", "Training-ready, decontaminated files in _shared/{dataset}/{name}/ with quality figures.",
              lambda run: run.upstream, required_fields=_required, checks=(DECONTAMINATION,), metadata=_published_metadata),
    ),
    load=registered_loader(fingerprints),
    publish=_publish,
    readme_lines=_readme_lines,
    check_entry=check_entry,
    check_experiment=check_experiment,
    complete_config=complete_config,
    fingerprints=fingerprints,
    config_model=DatasetExperimentConfig,
    preview=previews.preview,
    evaluated=True,
    validators=judging.resolved_validators,
    review_slots=reviewing.experiment_slots,
)

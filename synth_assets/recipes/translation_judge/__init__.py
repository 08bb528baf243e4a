"""Translation judge: LLM-as-a-judge batch outputs (drops) -> a balanced, stratified training set.

Stages: `process` (parse the drop; bad lines go to `quarantine.jsonl`) -> `synthesize` (classes below
`min_samples` topped up by the LLM, answers held to a JSON schema, rows marked `synthetic`) ->
`published` (asset `split`: stratified train/test split in `trainset/` and `testset/`).

Fingerprinted per stage (see `drops.judge_fingerprints`): process = sha256 of the drop and the label
map; synthesize = min_samples, k_shot, max_rounds, seed and the sampling parameters; published =
test_ratio and seed. Not fingerprinted: rpm, max_workers, max_failure_rate.
"""

from __future__ import annotations

import hashlib
from typing import Any

from synth_assets.core.fingerprint import short
from synth_assets.core.store import DirWriter, Store, jsonl_bytes
from synth_assets.core.store_s3 import read_url
from synth_assets.llm.types import ChatRequest
from synth_assets.recipes.base import Check, CheckResult, Markdown, Published, Recipe, Rows, Stage, StageFailed, StageRun
from synth_assets.recipes.translation_judge.drops import JUDGE_DROPS, NAME, JudgeConfig
from synth_assets.recipes.translation_judge.labels import resolve_label_map
from synth_assets.recipes.translation_judge.parse import TRAINING_FIELDS, JudgeExample, parse_drop, to_training_record
from synth_assets.recipes.translation_judge.split import expected_duration, stratified_split
from synth_assets.recipes.translation_judge.synthesis import answer_format, minority_deficits, parse_synthetic, synthesis_requests


def load(record: dict[str, Any], store: Store) -> JudgeConfig:
    return JudgeConfig.model_validate(record["config"])


def _counts(rows: Rows, classes: list[str]) -> dict[str, int]:
    return {c: sum(1 for r in rows if r["label"] == c) for c in classes}


def _counts_table(counts: dict[str, int]) -> Markdown:
    return Markdown("| class | rows |\n|---|---|\n" + "\n".join(f"| {c} | {n} |" for c, n in counts.items()))


def _examples(rows: Rows) -> list[JudgeExample]:
    return [JudgeExample(**row) for row in rows]


def _process(run: StageRun) -> Rows:
    record, cfg = run.record, run.job
    data = read_url(record["source_file"])
    if hashlib.sha256(data).hexdigest() != record["params"]["process"]["drop_sha256"]:
        raise StageFailed(f"{record['source_file']} changed since it was registered as {short(record['fingerprint'])}: "
                          "drop it again (a new file name) to get a new partition")
    result = parse_drop(data.decode("utf-8").splitlines(), file=record["source_file"], label_map=cfg.label_map)
    rows = [to_training_record(ex) for ex in result.examples]
    run.extra_files["quarantine.jsonl"] = jsonl_bytes(result.quarantine)
    run.metadata.update({"quarantined": len(result.quarantine), "classes": _counts_table(result.counts)})
    if result.quarantine:
        lines = ", ".join(str(q["line"]) for q in result.quarantine[:20])
        run.log.warning(f"{len(result.quarantine)} lines quarantined (lines {lines}); {len(rows)} proceed")
    return rows


def _synthesize(run: StageRun) -> Rows:
    cfg: JudgeConfig = run.job
    examples = _examples(run.upstream)
    labels = resolve_label_map(cfg.label_map)
    deficits = minority_deficits(_counts(run.upstream, labels.classes), cfg.min_samples)
    total = sum(deficits.values())
    seconds, text = expected_duration(total, cfg.rpm)
    run.log.info(f"synthesizing {total} rows for {deficits} at {cfg.rpm} rpm: expected duration {text}")
    g = cfg.generation
    synthetic: list[JudgeExample] = []
    for label, missing in deficits.items():
        made: list[JudgeExample] = []
        for round_ in range(cfg.max_rounds):
            need = missing - len(made)
            if need <= 0:
                break
            dicts = synthesis_requests(examples, label=label, count=need, k_shot=cfg.k_shot, seed=cfg.seed * 1000 + round_,
                                       model=g.model, temperature=g.temperature, max_tokens=g.max_tokens, label_map=cfg.label_map)
            requests = [ChatRequest(**d, top_p=g.top_p, frequency_penalty=g.frequency_penalty, presence_penalty=g.presence_penalty,
                                    response_format=answer_format(labels.scores_of(label))) for d in dicts]
            for response in run.chat(g, requests, rpm=cfg.rpm, max_in_flight=cfg.max_workers, label=f"synthesize {label}"):
                example = parse_synthetic(response.text or "", label=label, index=len(made), label_map=cfg.label_map)
                if example is not None:
                    made.append(example)
        synthetic += made[:missing]
    rows = [to_training_record(ex) for ex in examples + synthetic]
    run.metadata.update({"classes": _counts_table(_counts(rows, labels.classes)), "synthetic_rows": len(synthetic),
                         "expected_duration_s": round(seconds, 1)})
    return rows


def _min_samples(run: StageRun, rows: Rows) -> CheckResult:
    cfg: JudgeConfig = run.job
    short_of = {c: n for c, n in _counts(rows, resolve_label_map(cfg.label_map).classes).items() if n < cfg.min_samples}
    return CheckResult(not short_of, {"short_of_min_samples": short_of})


def _split(run: StageRun, rows: Rows) -> tuple[Rows, Rows]:
    train, test = stratified_split(_examples(rows), test_ratio=run.job.test_ratio, seed=run.job.seed)
    return [to_training_record(ex) for ex in train], [to_training_record(ex) for ex in test]


def _publish(run: StageRun, rows: Rows, files: DirWriter) -> Published:
    train, test = _split(run, rows)
    files.write_bytes("trainset/train.jsonl", jsonl_bytes(train))
    files.write_bytes("testset/test.jsonl", jsonl_bytes(test))
    return Published("trainset/train.jsonl", {"train": len(train), "test": len(test)}, {"drop": run.record["source_file"]})


def _stratified(run: StageRun, rows: Rows) -> CheckResult:
    """Every class with 2+ rows has a row in the test split (trivially true with test_ratio 0)."""
    if run.job.test_ratio == 0:
        return CheckResult(True)
    multi = {c for c in {r["label"] for r in rows} if sum(1 for r in rows if r["label"] == c) >= 2}
    in_test = {r["label"] for r in _split(run, rows)[1]}
    return CheckResult(multi <= in_test, {"classes_missing_from_test": sorted(multi - in_test)})


RECIPE = Recipe(
    name=NAME,
    description="LLM-as-a-judge batch outputs (drops) turned into a balanced, stratified training set.",
    stages=(
        Stage("process", "process", "Parse a judge drop (Bedrock batch-inference output) into examples; bad lines go to quarantine.jsonl.",
              _process, reads_upstream=False, required_fields=lambda cfg: TRAINING_FIELDS),
        Stage("synthesize", "synthesize", "Top up every class below min_samples with LLM-synthesized examples of that class (marked synthetic).",
              _synthesize, resources=("llm",), required_fields=lambda cfg: TRAINING_FIELDS,
              checks=(Check("min_samples", "Every class has at least min_samples rows.", _min_samples),),
              max_failure_rate=lambda cfg: cfg.max_failure_rate),
        Stage("published", "split", "Stratified train/test split, published to trainset/ and testset/ of the shared store.",
              lambda run: run.upstream, required_fields=lambda cfg: TRAINING_FIELDS,
              checks=(Check("stratified", "Every class with 2+ rows is in the test set.", _stratified),)),
    ),
    load=load,
    publish=_publish,
    dimension="drop",
    readme_lines=lambda record, summary: [f"- drop: {record['source_file']}"],
    cli="synth_assets.recipes.translation_judge.cli:app",
    drop_sources=(JUDGE_DROPS,),
)

"""Translation-judge recipe on data drops: process -> synthesize -> split, partitioned by (drop, fingerprint)."""

import datetime as dt
import hashlib
import json
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    MetadataValue,
    Output,
    asset,
)

from io_managers.shared_store import StageOutput, partition_dims
from resources.llm import ChatRequest, LLMResource, LLMUsage
from resources.store import StoreResource
from synth_assets.assets.factory import ONE_RUN_PER_PARTITION, recipe_partitions
from synth_assets.core.fingerprint import short
from synth_assets.recipes.translation_judge.drops import RECIPE, JudgeConfig
from synth_assets.core.store import jsonl_bytes
from synth_assets.core.store_s3 import read_url
from synth_assets.recipes.translation_judge.judge import (
    JudgeExample,
    expected_duration,
    minority_deficits,
    parse_drop,
    parse_synthetic,
    resolve_label_map,
    stratified_split,
    synthesis_requests,
    to_training_record,
)

PARTITIONS = recipe_partitions(RECIPE)
KEYS = {stage: AssetKey([RECIPE, stage]) for stage in ("process", "synthesize", "split")}


def _load(context: AssetExecutionContext, synth: StoreResource) -> tuple[dict[str, Any], JudgeConfig, str]:
    dataset, fingerprint = partition_dims(context.partition_key)
    record = synth.store.registration(fingerprint)
    if record["recipe"] != RECIPE or record["dataset"] != dataset:
        raise ValueError(f"partition {context.partition_key} is not a registered translation-judge drop")
    return record, JudgeConfig.model_validate(record["config"]), dataset


def _counts(rows: list[dict], classes: list[str]) -> dict[str, int]:
    return {c: sum(1 for r in rows if r["label"] == c) for c in classes}


def _counts_table(counts: dict[str, int]) -> MetadataValue:
    return MetadataValue.md("| class | rows |\n|---|---|\n" + "\n".join(f"| {c} | {n} |" for c, n in counts.items()))


def _output(stage: str, record: dict, dataset: str, started: dt.datetime, synth: StoreResource, rows: list[dict] | None,
            upstream: str | None = None, partition_key: str = "", **kwargs: Any) -> StageOutput:
    store = synth.store
    stage_fp = record["stages"][stage]
    out = StageOutput(stage=stage, dataset=dataset, record=record, rows=rows, reused=False, started_at=started, **kwargs)
    if upstream:  # the upstream stage's asset has the stage's name
        out.upstream = [{"asset": KEYS[upstream].to_user_string(), "partition_key": partition_key,
                         "path": store.uri(store.stage_key(dataset, upstream, record["stages"][upstream]) + "/data.jsonl")}]
    if rows is None:
        out.reused = True
        out.key = store.stage_key(dataset, stage, stage_fp) + "/data.jsonl"
    return out


@asset(key=KEYS["process"], partitions_def=PARTITIONS, io_manager_key="shared_store", metadata={"stage": "process"},
       group_name=RECIPE, backfill_policy=ONE_RUN_PER_PARTITION,
       check_specs=[AssetCheckSpec("non_empty", asset=KEYS["process"])],
       description="Parse a judge drop (Bedrock batch-inference output) into examples; bad lines go to quarantine.jsonl.")
def process(context: AssetExecutionContext, synth: StoreResource):
    started = dt.datetime.now(dt.timezone.utc)
    record, cfg, dataset = _load(context, synth)
    if synth.store.stage_complete(dataset, "process", record["stages"]["process"]):
        out = _output("process", record, dataset, started, synth, None)
        rows = out.read_rows(synth.store)
    else:
        data = read_url(record["source_file"])
        if hashlib.sha256(data).hexdigest() != record["params"]["process"]["drop_sha256"]:
            raise RuntimeError(f"{record['source_file']} changed since it was registered as {short(record['fingerprint'])}: "
                               "drop it again (a new file name) to get a new partition")
        result = parse_drop(data.decode("utf-8").splitlines(), file=record["source_file"], label_map=cfg.label_map)
        rows = [to_training_record(ex) for ex in result.examples]
        out = _output("process", record, dataset, started, synth, rows,
                      extra_files={"quarantine.jsonl": jsonl_bytes(result.quarantine)},
                      metadata={"quarantined": len(result.quarantine), "classes": _counts_table(result.counts)})
        if result.quarantine:
            lines = ", ".join(str(q["line"]) for q in result.quarantine[:20])
            context.log.warning(f"{len(result.quarantine)} lines quarantined (lines {lines}); {len(rows)} proceed")
    yield Output(out)
    yield AssetCheckResult(check_name="non_empty", passed=bool(rows), metadata={"rows": len(rows)})


def _examples(rows: list[dict]) -> list[JudgeExample]:
    return [JudgeExample(**row) for row in rows]


def _as_tags(answer: str) -> str:
    """The synthesis answer (JSON, enforced by a schema) in the tag format `parse_synthetic` reads."""
    data = json.loads(answer)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    return "".join(f"<{k}>{data.get(k, '')}</{k}>" for k in ("source", "translation", "model", "reasoning", "score"))


def _schema(scores: list[int]) -> dict:
    text = {"type": "string", "minLength": 1, "maxLength": 200}  # bounded so that an answer fits in max_tokens
    properties = {"source": text, "translation": text, "model": {"type": "string", "minLength": 1, "maxLength": 40},
                  "reasoning": text, "score": {"type": "integer", "enum": scores}}
    return {"type": "json_schema", "json_schema": {"name": "judge_example", "strict": True, "schema": {
        "type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}}}


@asset(key=KEYS["synthesize"], ins={"processed": AssetIn(key=KEYS["process"])}, partitions_def=PARTITIONS,
       io_manager_key="shared_store", metadata={"stage": "synthesize"}, group_name=RECIPE, backfill_policy=ONE_RUN_PER_PARTITION,
       check_specs=[AssetCheckSpec("min_samples", asset=KEYS["synthesize"], description="every class has min_samples rows")],
       description="Top up every class below min_samples with LLM-synthesized examples of that class (marked synthetic).")
def synthesize(context: AssetExecutionContext, synth: StoreResource, llm: LLMResource, processed: list[dict]):
    started = dt.datetime.now(dt.timezone.utc)
    record, cfg, dataset = _load(context, synth)
    examples = _examples(processed)
    labels = resolve_label_map(cfg.label_map)
    counts = _counts(processed, labels.classes)
    if synth.store.stage_complete(dataset, "synthesize", record["stages"]["synthesize"]):
        out = _output("synthesize", record, dataset, started, synth, None, upstream="process", partition_key=str(context.partition_key))
        rows = out.read_rows(synth.store)
    else:
        deficits = minority_deficits(counts, cfg.min_samples)
        total = sum(deficits.values())
        seconds, text = expected_duration(total, cfg.rpm)
        context.log.info(f"synthesizing {total} rows for {deficits} at {cfg.rpm} rpm: expected duration {text}")
        g = cfg.generation
        client = llm.model_copy(update={"backend": g.backend, "rpm": cfg.rpm, "max_in_flight": cfg.max_workers})
        synthetic: list[JudgeExample] = []
        usage: LLMUsage | None = None
        for label, missing in deficits.items():
            made: list[JudgeExample] = []
            for round_ in range(cfg.max_rounds):
                need = missing - len(made)
                if need <= 0:
                    break
                dicts = synthesis_requests(examples, label=label, count=need, k_shot=cfg.k_shot, seed=cfg.seed * 1000 + round_,
                                           model=g.model, temperature=g.temperature, max_tokens=g.max_tokens, label_map=cfg.label_map)
                requests = [ChatRequest(**d, top_p=g.top_p, frequency_penalty=g.frequency_penalty, presence_penalty=g.presence_penalty,
                                        response_format=_schema(labels.scores_of(label))) for d in dicts]
                result = client.chat(requests, logger=context.log, description=f"synthesize {label}")
                usage = result.usage if usage is None else usage + result.usage
                for response in result.responses:
                    try:
                        example = parse_synthetic(_as_tags(response.text or ""), label=label, index=len(made), label_map=cfg.label_map)
                    except ValueError:
                        example = None
                    if example is not None:
                        made.append(example)
            synthetic += made[:missing]
        rows = [to_training_record(ex) for ex in examples + synthetic]
        out = _output("synthesize", record, dataset, started, synth, rows, upstream="process", partition_key=str(context.partition_key),
                      metadata={"classes": _counts_table(_counts(rows, labels.classes)), "synthetic_rows": len(synthetic),
                                "expected_duration_s": round(seconds, 1)},
                      llm_usage=usage.to_dict() if usage else None, llm_model=(g.backend, g.model))
    short_of = {c: n for c, n in _counts(rows, labels.classes).items() if n < cfg.min_samples}
    yield Output(out)
    yield AssetCheckResult(check_name="min_samples", passed=not short_of, metadata={"short_of_min_samples": json.dumps(short_of)})


@asset(key=KEYS["split"], ins={"synthesized": AssetIn(key=KEYS["synthesize"])}, partitions_def=PARTITIONS,
       io_manager_key="shared_store", metadata={"stage": "published"}, group_name=RECIPE, backfill_policy=ONE_RUN_PER_PARTITION,
       check_specs=[AssetCheckSpec("stratified", asset=KEYS["split"], description="every class with 2+ rows is in the test set")],
       description="Stratified train/test split, published to trainset/ and testset/ of the shared store.")
def split(context: AssetExecutionContext, synth: StoreResource, synthesized: list[dict]):
    started = dt.datetime.now(dt.timezone.utc)
    record, cfg, dataset = _load(context, synth)
    store, name = synth.store, record["semantic_name"]
    prefix = store.experiment_key(dataset, name)
    train, test = stratified_split(_examples(synthesized), test_ratio=cfg.test_ratio, seed=cfg.seed)
    train_rows, test_rows = [to_training_record(ex) for ex in train], [to_training_record(ex) for ex in test]
    out = _output("published", record, dataset, started, synth, train_rows, upstream="synthesize", partition_key=str(context.partition_key))
    out.key = f"{prefix}/trainset/train.jsonl"
    if store.is_complete(dataset, name, record["fingerprint"]):
        out.reused, out.rows = True, None
    else:
        with store.building(prefix, record["fingerprint"]) as files:
            files.write_bytes("trainset/train.jsonl", jsonl_bytes(train_rows))
            files.write_bytes("testset/test.jsonl", jsonl_bytes(test_rows))
            files.write_text("generation_config.yaml", record["config_yaml"])
            files.write_text("experiment_metadata.json", json.dumps({
                "parameter_fingerprint": record["fingerprint"], "fingerprint_short": short(record["fingerprint"]),
                "fingerprint_scheme": record["scheme"], "origin_batch": record["origin_batch"], "drop": record["source_file"],
                "rows": {"train": len(train_rows), "test": len(test_rows)}, "params": record["params"],
            }, indent=2))
        out.metadata = {"train_rows": len(train_rows), "test_rows": len(test_rows)}
    classes = {r["label"] for r in synthesized}
    multi = {c for c in classes if sum(1 for r in synthesized if r["label"] == c) >= 2}
    in_test = {r["label"] for r in test_rows} if out.rows is not None else multi
    yield Output(out)
    yield AssetCheckResult(check_name="stratified", passed=cfg.test_ratio == 0 or multi <= in_test)


translation_judge_assets = [process, synthesize, split]

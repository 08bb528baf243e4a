"""Translation-judge drops: the recipe config, fingerprints and registration of a dropped `*.jsonl.out` file."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from synth_assets.core.batch_ids import default_batch_id
from synth_assets.core.config import Sampling
from synth_assets.core.fingerprint import SCHEME, Fingerprints, model_slug, stage_fingerprints
from synth_assets.core.lineage import Lineage
from synth_assets.core.registry import Registration, draft_record, register_record
from synth_assets.core.store import Store
from synth_assets.core.yaml_lines import load_yaml_with_lines, validate_model
from synth_assets.recipes.translation_judge.parse import parse_drop

NAME = "translation_judge"
DROP_SUFFIX = ".jsonl.out"
DEFAULT_CONFIG = Path(__file__).resolve().parent / "defaults.yaml"


class JudgeConfig(BaseModel):
    """Parameters of the translation-judge recipe; `rpm`, `max_workers` and `max_failure_rate` are not in the fingerprint."""

    model_config = ConfigDict(extra="forbid")
    min_samples: int = Field(default=100, ge=0)
    test_ratio: float = Field(default=0.1, ge=0.0, lt=1.0)
    seed: int = 0
    k_shot: int = Field(default=3, ge=0)
    max_rounds: int = Field(default=3, ge=1)
    label_map: dict[str | int, str] | None = None
    generation: Sampling = Field(default_factory=lambda: Sampling(temperature=0.8, max_tokens=256))
    rpm: int = Field(default=150, gt=0)
    max_workers: int = Field(default=8, gt=0)
    max_failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)


def load_judge_config(path: str | Path | None = None) -> JudgeConfig:
    """The recipe config: `path`, else `$SYNTH_JUDGE_CONFIG`, else the shipped defaults."""
    path = Path(path or os.environ.get("SYNTH_JUDGE_CONFIG") or DEFAULT_CONFIG)
    data, lines = load_yaml_with_lines(path)
    return validate_model(JudgeConfig, data, path, lines)


def drop_dataset(uri: str) -> str:
    """A partition-safe dataset name from a drop's file name: `judge_batch_0001.jsonl.out` -> `judge_batch_0001`."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    name = name[: -len(DROP_SUFFIX)] if name.endswith(DROP_SUFFIX) else name
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("._") or "drop"


def judge_fingerprints(drop_sha256: str, cfg: JudgeConfig) -> Fingerprints:
    """process (drop + labels) -> synthesize (+ generation) -> published (+ split)."""
    process = {"recipe": NAME, "drop_sha256": drop_sha256, "label_map": cfg.label_map}
    # the synthesis seeds derive from the recipe's `seed` (in `synthesize`), not from generation.seed
    generation = cfg.generation.model_dump(include={"backend", "model", "temperature", "top_p", "max_tokens",
                                                     "frequency_penalty", "presence_penalty"})
    synthesize = {"min_samples": cfg.min_samples, "k_shot": cfg.k_shot, "max_rounds": cfg.max_rounds, "seed": cfg.seed, **generation}
    split = {"test_ratio": cfg.test_ratio, "seed": cfg.seed}
    stages = stage_fingerprints(SCHEME, {"process": process, "synthesize": synthesize, "published": split})
    params = {"process": {"scheme": SCHEME, "stage": "process", **process}, "synthesize": synthesize, "split": split}
    return Fingerprints(SCHEME, stages, params)


def register_drop(uri: str, data: bytes, cfg: JudgeConfig, store: Store, lineage: Lineage, *, today: dt.date | None = None) -> Registration:
    """Validate a drop (empty or unknown format -> ValueError) and register it in `batch_{date}_judge`."""
    parse_drop(data.decode("utf-8").splitlines(), file=uri, label_map=cfg.label_map)
    fps = judge_fingerprints(hashlib.sha256(data).hexdigest(), cfg)
    batch_id = default_batch_id("judge", today)
    config = cfg.model_dump(mode="json")
    draft = draft_record(fps, dataset=drop_dataset(uri), recipe=NAME, config=config,
                         config_yaml=yaml.safe_dump({"drop": uri, **config}, sort_keys=False), source_file=uri)
    name = f"min{cfg.min_samples}_test{round(cfg.test_ratio * 100)}_{model_slug(cfg.generation.model or '')}"
    return register_record(draft, name, store, lineage, batch_id=batch_id, purpose="judge",
                           description="translation-judge drops: processed, minority classes synthesized, split",
                           job=cfg, fingerprints=fps)

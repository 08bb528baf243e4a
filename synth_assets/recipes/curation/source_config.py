"""The config of one curation source (a per-source YAML or an inline entry of a collection): where its rows are and
which column holds what; `sources.py` reads it, `config.py` lists it in a collection."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from synth_assets.core.names import check_safe_name
from synth_assets.core.numbers import NoBoolNumbers

Style = Literal["plain", "helpsteer3", "arena", "openr1"]
FileType = Literal["jsonl", "json", "parquet", "csv", "hf"]
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


class Strict(NoBoolNumbers):
    """A section with unknown keys and booleans for numbers refused."""

    model_config = ConfigDict(extra="forbid")


class FieldMap(Strict):
    """Which column of a source row holds what (dotted paths like `context.0.content` allowed)."""

    id: str | None = None
    prompt: str | None = None
    turns: str | None = None  # a conversation (list of {role, content} or strings): the prompt, kept as a list
    answer: str | None = None
    thinking: str | None = None
    solution: str | None = None  # text used by `by: prompt+solution` (default: answer)
    chosen: str | None = None
    rejected: str | None = None
    response1: str | None = None  # helpsteer3 response1 / arena response (conversation) a
    response2: str | None = None
    scores: str | None = None  # helpsteer3 overall_preference (-3..3)
    winner: str | None = None  # arena: model_a | model_b | tie | tie (bothbad)
    traces: str | None = None  # openr1: list of generations
    correct: str | None = None  # openr1: list of correctness flags, one per trace


_STYLE_NEEDS = {
    "helpsteer3": ("response1", "response2", "scores"),
    "arena": ("response1", "response2", "winner"),
    "openr1": ("traces", "correct"),
    "plain": (),
}


class HFSpec(Strict):
    """A Hugging Face dataset read offline: a local folder / builder name already in the cache."""

    path: str
    name: str | None = None
    split: str = "train"
    data_files: str | list[str] | None = None
    from_disk: bool = False  # a folder written by Dataset.save_to_disk


class SourceConfig(Strict):
    name: str
    path: str | None = None
    type: FileType | None = None
    hf: HFSpec | None = None
    style: Style = "plain"
    fields: FieldMap
    limit: int | None = Field(default=None, gt=0)
    max_malformed_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    description: str = ""

    _check_name = field_validator("name")(lambda v: check_safe_name(v, "source name"))

    @model_validator(mode="after")
    def _check(self) -> "SourceConfig":
        if (self.path is None) == (self.hf is None):
            raise ValueError("a source needs exactly one of path (a local file) or hf (a Hugging Face dataset)")
        if self.hf is not None:
            self.type = "hf"
        elif self.type is None:
            ext = Path(self.path).suffix.lower()
            if ext not in _EXTENSIONS:
                raise ValueError(f"cannot tell the file type of {self.path!r} from its extension; set type: jsonl|json|parquet|csv")
            self.type = _EXTENSIONS[ext]
        elif self.type == "hf":
            raise ValueError("type: hf needs an hf: section instead of path")
        if self.fields.prompt is None and self.fields.turns is None:
            raise ValueError("fields needs prompt (a column with the prompt text) or turns (a conversation column)")
        missing = [f for f in _STYLE_NEEDS[self.style] if getattr(self.fields, f) is None]
        if missing:
            raise ValueError(f"style {self.style} needs fields {missing}")
        return self

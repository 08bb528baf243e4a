"""Read a source (JSONL / JSON / Parquet / CSV / a local Hugging Face dataset) and map its fields.

Rules, so that nothing disappears silently:
- a file that cannot be read, an empty source, or a mapped field that most rows lack (more than
  `max_malformed_fraction`) is an error naming the source, the field and the first row numbers;
- a single bad row (invalid JSON, not an object, a mapped field missing or empty) is *malformed*:
  counted, listed (row number + reason) in the stage metadata and the malformed artifact, and
  excluded from the merge.
Row numbers are 1-based positions in the source (for JSONL: the line number).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth_assets.core.hashing import file_sha256
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.curation.source_config import SourceConfig
from synth_assets.recipes.curation.formats import style_problem

_MISSING = object()


@dataclass
class _Bad:
    """A row that could not even be parsed."""

    reason: str


@dataclass
class Extracted:
    """One usable source row."""

    row_number: int  # 1-based
    index: int  # 0-based position among the source's rows (for source_prompt_id)
    prompt: str | list
    prompt_text: str
    solution_text: str
    fields: dict[str, Any]
    original: dict[str, Any]


@dataclass
class LoadedSource:
    config: SourceConfig
    rows_read: int
    records: list[Extracted]
    malformed: list[dict[str, Any]] = field(default_factory=list)  # {row, reason}

    @property
    def name(self) -> str:
        return self.config.name


def source_content_hash(source: SourceConfig) -> str:
    """sha256 of the data a source reads (a file, or every file of a local HF dataset folder)."""
    try:
        if source.type != "hf":
            return file_sha256(source.path)
        spec = source.hf
        files: list[Path] = []
        if spec.data_files:
            files = [Path(f) for f in ([spec.data_files] if isinstance(spec.data_files, str) else spec.data_files)]
        elif Path(spec.path).is_dir():
            files = sorted(p for p in Path(spec.path).rglob("*") if p.is_file() and ".cache" not in p.parts)
        elif Path(spec.path).is_file():
            files = [Path(spec.path)]
        digest = hashlib.sha256(json.dumps(spec.model_dump(), sort_keys=True).encode())
        for f in files:
            digest.update(str(f.name).encode() + b"\0" + file_sha256(f).encode())
        return digest.hexdigest()
    except OSError as exc:
        raise ConfigError(source.path or source.hf.path, f"source {source.name}: cannot read: {exc.strerror or exc}") from None


def _read_raw(source: SourceConfig) -> tuple[list[Any], list[int]]:
    """(rows, line numbers): rows may be _Bad placeholders for unparsable lines; line numbers for JSONL only."""
    where = source.path or (source.hf.path if source.hf else "")
    try:
        if source.type == "jsonl":
            rows: list[Any] = []
            numbers: list[int] = []
            with open(source.path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    numbers.append(number)
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        rows.append(_Bad(f"invalid JSON: {exc.msg} (column {exc.colno})"))
            return rows, numbers
        if source.type == "json":
            data = json.loads(Path(source.path).read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                data = data["data"]
            if not isinstance(data, list):
                raise ConfigError(where, f"source {source.name}: a .json source must hold a list of objects")
            return data, []
        if source.type == "csv":
            with open(source.path, encoding="utf-8", newline="") as handle:
                rows = list(csv.DictReader(handle))
            return rows, [i + 2 for i in range(len(rows))]  # line 1 is the header
        if source.type == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(source.path).to_pylist(), []
        return _read_hf(source), []
    except ConfigError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(where, f"source {source.name}: cannot read {source.type} file: {reason}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(where, f"source {source.name}: invalid JSON: {exc.msg}", line=exc.lineno) from None
    except Exception as exc:  # pyarrow / datasets raise their own types for corrupt files
        raise ConfigError(where, f"source {source.name}: cannot read {source.type} data: {type(exc).__name__}: {exc}") from None


def _read_hf(source: SourceConfig) -> list[dict[str, Any]]:
    """A Hugging Face dataset from a local folder or the local cache, never from the network."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets

    spec = source.hf
    if spec.from_disk:
        loaded = datasets.load_from_disk(spec.path)
        if isinstance(loaded, datasets.DatasetDict):
            loaded = loaded[spec.split]
    else:
        kwargs: dict[str, Any] = {"split": spec.split}
        if spec.name:
            kwargs["name"] = spec.name
        if spec.data_files:
            kwargs["data_files"] = spec.data_files
        loaded = datasets.load_dataset(spec.path, **kwargs)
    return loaded.to_list()


def get_field(row: dict[str, Any], path: str) -> Any:
    """`row[path]`, or a dotted path through dicts and lists (`context.0.content`); _MISSING if absent."""
    if path in row:
        return row[path]
    value: Any = row
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def turns_text(value: Any) -> str:
    """Text of a prompt that is a string or a conversation (list of messages)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for message in value:
            if isinstance(message, dict):
                parts.append(f"{message.get('role', '')}: {message.get('content', '')}")
            else:
                parts.append(str(message))
        return "\n".join(parts)
    return "" if value is None else str(value)


def _mapped(source: SourceConfig) -> dict[str, str]:
    return {k: v for k, v in source.fields.model_dump().items() if v is not None}


def _required(source: SourceConfig) -> list[str]:
    """Mapped roles a row must have."""
    need = ["turns" if source.fields.turns else "prompt"]
    need += {"helpsteer3": ["response1", "response2", "scores"], "arena": ["response1", "response2", "winner"],
             "openr1": ["traces", "correct"], "plain": []}[source.style]
    return need


def load_source(source: SourceConfig) -> LoadedSource:
    """Read and map one source; raise ConfigError for unusable sources (see the module doc)."""
    where = source.path or source.hf.path
    raw, line_numbers = _read_raw(source)
    if source.limit is not None:
        raw = raw[: source.limit]
    if not raw:
        raise ConfigError(where, f"source {source.name} is empty: no rows to curate")
    mapping = _mapped(source)
    required = _required(source)
    missing_rows: dict[str, list[int]] = {role: [] for role in mapping}
    records: list[Extracted] = []
    bad: list[dict[str, Any]] = []
    for index, row in enumerate(raw):
        number = line_numbers[index] if line_numbers else index + 1
        if isinstance(row, _Bad):
            bad.append({"row": number, "reason": row.reason})
            continue
        if not isinstance(row, dict):
            bad.append({"row": number, "reason": f"not an object but {type(row).__name__}"})
            continue
        values = {role: get_field(row, column) for role, column in mapping.items()}
        for role, value in values.items():
            if value is _MISSING:
                missing_rows[role].append(number)
        problems = [f"missing field {mapping[r]!r} ({r})" for r in required if values.get(r, _MISSING) is _MISSING]
        prompt = values.get("turns") if source.fields.turns else values.get("prompt")
        if not problems:
            if source.fields.turns and not isinstance(prompt, list):
                problems.append(f"field {mapping['turns']!r} (turns) is not a list")
            elif not source.fields.turns and not isinstance(prompt, str):
                problems.append(f"field {mapping['prompt']!r} (prompt) is {type(prompt).__name__}, not text")
            elif not turns_text(prompt).strip():
                problems.append(f"field {mapping['turns' if source.fields.turns else 'prompt']!r} is empty")
            else:
                problem = style_problem(source.style, values)
                if problem:
                    problems.append(problem)
        if problems:
            bad.append({"row": number, "reason": "; ".join(problems)})
            continue
        fields = {role: (None if v is _MISSING else v) for role, v in values.items()}
        solution = fields.get("solution", fields.get("answer"))
        records.append(Extracted(
            row_number=number, index=index, prompt=prompt, prompt_text=turns_text(prompt),
            solution_text=turns_text(solution) if solution is not None else "",
            fields=fields, original=row,
        ))
    total = len(raw)
    columns = sorted({k for r in raw[:50] if isinstance(r, dict) for k in r})
    for role in required:
        rows = missing_rows.get(role, [])
        if rows and (len(rows) == total or len(rows) / total > source.max_malformed_fraction):
            shown = ", ".join(map(str, rows[:10])) + (f", … ({len(rows)} rows)" if len(rows) > 10 else "")
            raise ConfigError(
                where,
                f"source {source.name}: field {mapping[role]!r} (mapped as {role}) is missing in rows {shown}; "
                f"columns found: {columns}",
                field=f"fields.{role}",
            )
    if not records:
        reasons = "; ".join(f"row {m['row']}: {m['reason']}" for m in bad[:5])
        raise ConfigError(where, f"source {source.name}: no usable rows ({len(bad)} malformed: {reasons})")
    if len(bad) / total > source.max_malformed_fraction:
        reasons = "; ".join(f"row {m['row']}: {m['reason']}" for m in bad[:5])
        raise ConfigError(where, f"source {source.name}: {len(bad)} of {total} rows are malformed (max_malformed_fraction "
                                 f"{source.max_malformed_fraction}): {reasons}")
    bad.sort(key=lambda m: m["row"])
    return LoadedSource(config=source, rows_read=total, records=records, malformed=bad)

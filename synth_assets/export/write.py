"""Writing one dataset's configs and splits as a Hugging Face `datasets` folder, Parquet or JSONL.

| format  | files (config `default` at the dataset folder, other configs in a folder each) |
|---------|-------------------------------------------------------------------------------|
| hf      | `DatasetDict.save_to_disk`: `dataset_dict.json`, `{split}/data-*.arrow`        |
| parquet | `{split}.parquet` (pyarrow)                                                    |
| jsonl   | `{split}.jsonl`, the published rows as JSON lines (keys and values as published) |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset, DatasetDict, Features

from synth_assets.core.store import jsonl_bytes
from synth_assets.export.collect import Configs, ExportError

FORMATS = ("hf", "parquet", "jsonl")


@dataclass(frozen=True)
class WrittenSplit:
    config: str
    split: str
    path: str  # the split's data files, relative to the dataset folder (a glob for hf)
    num_examples: int
    num_bytes: int  # Arrow size, as Hugging Face cards count `num_bytes`
    size: int  # bytes of the files written
    features: Features


def arrow_table(rows: list[dict[str, Any]], where: str) -> pa.Table:
    """The rows as one table: every key a column (missing values null); a column of mixed types is an error."""
    columns = {}
    for name in dict.fromkeys(key for row in rows for key in row):
        try:
            columns[name] = pa.array([row.get(name) for row in rows])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise ExportError(f"{where}: column {name!r} does not hold one type ({exc})") from None
    if not columns:
        raise ExportError(f"{where}: the rows have no fields")
    return pa.table(columns)


def _write_split(fmt: str, folder: Path, split: str, rows: list[dict[str, Any]], table: pa.Table) -> tuple[str, int]:
    """(relative path, bytes) of a split written as parquet or jsonl."""
    path = folder / f"{split}.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        path.write_bytes(jsonl_bytes(rows))
    return path.name, path.stat().st_size


def write_configs(configs: Configs, fmt: str, folder: Path, where: str) -> list[WrittenSplit]:
    """Write every config of one dataset under `folder`; `where` names the dataset in errors."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    written = []
    for config, splits in configs.items():
        prefix = "" if config == "default" else f"{config}/"
        target = folder / prefix
        target.mkdir(parents=True, exist_ok=True)
        tables = {split: arrow_table(rows, f"{where} ({config}/{split})") for split, rows in splits.items()}
        if fmt == "hf":
            DatasetDict({split: Dataset(table) for split, table in tables.items()}).save_to_disk(str(target))
        for split, table in tables.items():
            if fmt == "hf":
                files = sorted((target / split).glob("data-*.arrow"))
                relative, size = f"{split}/data-*.arrow", sum(f.stat().st_size for f in files)
            else:
                relative, size = _write_split(fmt, target, split, splits[split], table)
            written.append(WrittenSplit(config, split, prefix + relative, table.num_rows, table.nbytes, size,
                                        Features.from_arrow_schema(table.schema)))
    return written

"""Fixtures for curation tests: a session-wide MiniLM encoder (slow on CPU: embed few texts), sample files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "curation"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def encoder():
    from synth_assets.llm.embeddings import Encoder

    enc = Encoder("all-MiniLM-L6-v2", batch_size=32)
    enc.encode(["warm up"])  # load once for the session
    return enc


@pytest.fixture
def write_jsonl(tmp_path: Path):
    def write(rows, name="data.jsonl", raw_lines: dict[int, str] | None = None) -> Path:
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(r) for r in rows]
        for index, text in (raw_lines or {}).items():
            lines.insert(index, text)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_text(tmp_path: Path):
    def write(text: str, name: str = "collection.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write

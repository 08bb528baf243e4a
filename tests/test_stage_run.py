"""A stage's claim, reuse, write and publish in plain Python (`core/stage_run.py`): no Dagster, no recipe."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from synth_assets.core.fingerprint import Fingerprints, stage_fingerprints
from synth_assets.core.pending_stages import CONTENT_FIELD
from synth_assets.core.registry import draft_record, register_record
from synth_assets.core.stage_run import StoredStage
from synth_assets.core.store import DirWriter, jsonl_bytes
from tests.conftest import lineage_for, local_store

LOG = logging.getLogger("test_stage_run")


@dataclass
class Written:
    data_file: str
    rows: dict[str, int]
    summary: dict = field(default_factory=dict)


def _record(root: Path, count: int) -> dict:
    config = {"count": count}
    fps = Fingerprints("plain/1", stage_fingerprints("plain/1", {"numbers": config, "published": {}}), {"numbers": config})
    draft = draft_record(fps, dataset="integers", recipe="plain", config=config, config_yaml=json.dumps(config), source_file="")
    return register_record(draft, f"count{count}", local_store(root), lineage_for(root), batch_id="batch_20250101_plain").record


def _stage(root: Path, record: dict, name: str, rebuilt: tuple[str, ...] = ()) -> StoredStage:
    return StoredStage(local_store(root), lineage_for(root), record, name, rebuilt=rebuilt, log=LOG)


def _write(rows, files: DirWriter) -> Written:
    files.write_bytes("numbers.jsonl", jsonl_bytes(rows))
    return Written("numbers.jsonl", {"numbers": len(rows)})


def test_a_stage_is_computed_once_then_reused(synth_root):
    record = _record(synth_root, 3)
    calls = []

    def compute():
        calls.append(1)
        return [{"n": i} for i in range(3)]

    first = _stage(synth_root, record, "numbers").compute(compute, accept=lambda rows: {"side.txt": b"x"}, meta={"asset": "plain/numbers"})
    again = _stage(synth_root, record, "numbers").compute(compute, accept=lambda rows: {}, meta={})
    assert not first.reused and first.rows == [{"n": 0}, {"n": 1}, {"n": 2}] and first.content_hash
    assert again.reused and again.key == first.key and len(calls) == 1
    assert local_store(synth_root).read_jsonl(again.key) == first.rows


def test_accept_refusing_stores_nothing_and_a_waiting_stage_may_have_nothing(synth_root):
    record = _record(synth_root, 2)

    def refuse(rows):
        raise RuntimeError("too many failed requests")

    stage = _stage(synth_root, record, "numbers")
    try:
        stage.compute(lambda: [{"n": 0}], accept=refuse, meta={})
    except RuntimeError:
        pass
    assert not local_store(synth_root).stage_complete("integers", "numbers", record["stages"]["numbers"])
    assert stage.compute(lambda: None, accept=lambda rows: {}, meta={}, waits=True) is None


def test_publish_links_the_views_and_a_blocking_failure_keeps_it_incomplete(synth_root):
    record = _record(synth_root, 2)
    _stage(synth_root, record, "numbers").compute(lambda: [{"n": 0}, {"n": 1}], accept=lambda rows: {}, meta={})
    seen = []

    def blocking(summary, rows):
        seen.append((summary["data_file"], rows))
        return "blocking check too_few failed" if len(rows) < 2 else ""

    publish = _stage(synth_root, record, "published")
    rejected = publish.publish(lambda: [{"n": 0}], _write, usage={"cost_usd": 0.0}, readme_lines=lambda r, s: [],
                               blocking_failures=blocking)
    assert rejected.rejected and not rejected.batches and rejected.rows == [{"n": 0}] and seen == [("numbers.jsonl", [{"n": 0}])]
    assert not local_store(synth_root).record_complete(record)

    done = publish.publish(lambda: [{"n": 0}, {"n": 1}], _write, usage={"cost_usd": 0.0}, readme_lines=lambda r, s: [],
                           blocking_failures=blocking)
    assert not done.rejected and not done.reused and done.batches == ["batch_20250101_plain"]
    assert done.summary[CONTENT_FIELD] == {"numbers": json.loads(local_store(synth_root).read_bytes(
        f"{local_store(synth_root).stage_key('integers', 'numbers', record['stages']['numbers'])}/meta.json"))["content_sha256"]}
    assert local_store(synth_root).read_jsonl(done.key) == [{"n": 0}, {"n": 1}]
    reused = _stage(synth_root, record, "published").publish(lambda: [], _write, usage={}, readme_lines=lambda r, s: [],
                                                            blocking_failures=blocking)
    assert reused.reused and reused.key == done.key and reused.batches == ["batch_20250101_plain"] and len(seen) == 2

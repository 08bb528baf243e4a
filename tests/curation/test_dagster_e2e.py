"""The curation job end to end through Dagster, in-process, on a tiny collection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import isolate
from tests.curation.conftest import EXAMPLES


def test_curation_job_end_to_end(tmp_path, monkeypatch, encoder):
    from synth_assets.recipes.curation.cli import curate
    from synth_assets.core.lineage import Lineage
    from synth_assets.core.root import lineage_path

    root = isolate(tmp_path / "root", tmp_path / "dagster_home", monkeypatch)
    work = tmp_path / "cfg"
    work.mkdir()
    near = [json.loads(l) for l in (EXAMPLES / "near_dups.jsonl").read_text().splitlines()][:14]
    (work / "near.jsonl").write_text("\n".join(json.dumps(r) for r in near) + "\n{broken json\n")
    shutil.copy(EXAMPLES / "helpsteer3_sample.jsonl", work / "hs.jsonl")
    config = work / "tiny.yaml"
    config.write_text(
        "collection: tiny\nbatch_id: batch_20250101_curation\nsources:\n"
        "  - {name: near, path: near.jsonl, fields: {prompt: text, answer: answer}}\n"
        "  - {name: hs, path: hs.jsonl, style: helpsteer3, fields: {turns: context, response1: response1, response2: response2, scores: overall_preference}}\n"
        "dedup: {eps: 0.2, min_samples: 2, sweep: [0.1, 0.3]}\nformat: [sft, preference]\n"
    )
    first = curate(config, root, progress=False)
    assert first["success"], first["error"]
    reg = first["registration"]
    summary = {r["source"]: r for r in first["report"]["summary"]}
    assert summary["near"]["before"] == 15 and summary["near"]["malformed"] == 1  # reported, not silently dropped
    assert summary["near"]["exact_duplicates"] == 0 and summary["near"]["semantic_duplicates"] >= 4
    assert summary["hs"]["after"] == 7
    shared = Path(first["shared_path"])
    sft = [json.loads(l) for l in (shared / "tiny" / "tiny_sft.jsonl").read_text().splitlines()]
    pref = [json.loads(l) for l in (shared / "tiny" / "tiny_preference.jsonl").read_text().splitlines()]
    assert len(sft) == len(pref) == summary["TOTAL"]["after"]
    assert {r["source_prompt_id"] for r in sft} >= {"0_near", "0_hs"}
    art = first["report"]["artifacts"]
    assert Path(art["labels"]).name == "labels_eps0.2.npy" and Path(art["sweep_chart"]).is_file()
    assert (shared / "summary.csv").is_file()
    assert (root / "batch_20250101_curation" / "tiny" / reg.record["semantic_name"]).is_symlink()

    lineage = Lineage(lineage_path(str(root)))
    per_source = lineage.query("SELECT asset, rows FROM materializations WHERE asset LIKE 'curation/deduplicated/source=%' ORDER BY asset")
    assert {r["asset"].split("=")[1]: r["rows"] for r in per_source} == {"hs": 7, "near": summary["near"]["after"]}
    stages = lineage.query("SELECT asset, reused FROM materializations WHERE asset IN ('curation/merged','curation/deduplicated','curation/formatted')")
    assert len(stages) == 3 and not any(r["reused"] for r in stages)

    # a rerun reuses every complete stage and embeds nothing
    encoded = encoder.texts_encoded
    second = curate(config, root, progress=False)
    assert second["success"] and second["registration"].fingerprint == reg.fingerprint
    reused = lineage.query("SELECT asset, reused FROM materializations WHERE run_id = ? AND asset NOT LIKE '%source=%'", [second["run_id"]])
    assert len(reused) == 3 and all(r["reused"] for r in reused)
    assert encoder.texts_encoded == encoded

    # another eps: new dedup fingerprint, same merged stage, every embedding from the cache
    config.write_text(config.read_text().replace("eps: 0.2", "eps: 0.1"))
    third = curate(config, root, progress=False)
    assert third["success"] and third["registration"].fingerprints.merged == reg.fingerprints.merged
    assert third["registration"].fingerprints.deduplicated != reg.fingerprints.deduplicated
    emb = third["report"]["embedding"]
    assert emb["embedded"] == 0 and emb["hits"] == emb["unique"] > 0

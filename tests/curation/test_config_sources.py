"""Collection/source configs and source reading: clear errors, malformed rows counted, never silently dropped."""

from __future__ import annotations

import json

import pytest

from synth_assets.core.yaml_lines import ConfigError
from synth_assets.llm.embeddings import EmbeddingModelError, resolve_model_path
from synth_assets.recipes.curation.config import load_collection
from synth_assets.recipes.curation.source_config import SourceConfig
from synth_assets.recipes.curation.sources import load_source


def _collection(write_text, src, extra: str = "", dedup: str = "") -> str:
    return write_text(
        f"collection: test_col\nsources:\n  - name: s1\n    path: {src}\n    fields: {{prompt: text}}\n{extra}"
        + (f"dedup:\n{dedup}" if dedup else "")
    )


def test_loads_inline_and_file_sources(write_text, write_jsonl, tmp_path):
    src = write_jsonl([{"text": "a"}])
    (tmp_path / "s2.yaml").write_text(f"name: s2\npath: {src}\nfields: {{prompt: text}}\n")
    path = write_text(f"collection: c1\nsources:\n  - s2.yaml\n  - name: s1\n    path: {src}\n    fields: {{prompt: text}}\nformat: [cot, sft]\n")
    col = load_collection(path)
    assert [s.name for s in col.sources] == ["s2", "s1"]
    assert col.config.formats == ["cot", "sft"]
    assert col.sources[0].type == "jsonl"


def test_unknown_key_names_file_and_line(write_text, write_jsonl):
    src = write_jsonl([{"text": "a"}])
    path = write_text(f"collection: c1\nsources:\n  - name: s1\n    path: {src}\n    fields: {{prompt: text, promt2: x}}\n")
    with pytest.raises(ConfigError) as err:
        load_collection(path)
    assert f"{path}:5" in str(err.value) and "unknown key" in str(err.value) and "promt2" in str(err.value)


def test_unknown_key_in_source_file(write_text, write_jsonl, tmp_path):
    src = write_jsonl([{"text": "a"}])
    source_file = tmp_path / "bad_source.yaml"
    source_file.write_text(f"name: s2\npath: {src}\nfields: {{prompt: text}}\nlimt: 3\n")
    path = write_text("collection: c1\nsources:\n  - bad_source.yaml\n")
    with pytest.raises(ConfigError) as err:
        load_collection(path)
    assert f"{source_file}:4" in str(err.value) and "limt" in str(err.value)


def test_unsafe_collection_name(write_text, write_jsonl):
    src = write_jsonl([{"text": "a"}])
    with pytest.raises(ConfigError, match="collection name"):
        load_collection(write_text(f"collection: a/b\nsources:\n  - name: s1\n    path: {src}\n    fields: {{prompt: text}}\n"))


@pytest.mark.parametrize("eps", [0, -0.1, 2, 2.5])
def test_eps_out_of_range(write_text, write_jsonl, eps):
    src = write_jsonl([{"text": "a"}])
    path = _collection(write_text, src, dedup=f"  eps: {eps}\n")
    with pytest.raises(ConfigError) as err:
        load_collection(path)
    assert "eps must be a cosine distance in (0, 2)" in str(err.value) and ":7" in str(err.value)


def test_sweep_eps_out_of_range(write_text, write_jsonl):
    src = write_jsonl([{"text": "a"}])
    with pytest.raises(ConfigError, match=r"\(0, 2\)"):
        load_collection(_collection(write_text, src, dedup="  sweep: [0.1, 3]\n"))


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(EmbeddingModelError, match="no such path"):
        resolve_model_path(str(tmp_path / "no_such_model"))


def test_missing_model_path_fails_registration(write_text, write_jsonl, tmp_path):
    from synth_assets.core.lineage import Lineage
    from synth_assets.core.stores import open_store
    from synth_assets.recipes.curation.pipeline import register_collection

    src = write_jsonl([{"text": "a"}])
    path = _collection(write_text, src, dedup=f"  model: {tmp_path / 'missing_model'}\n")
    with pytest.raises(EmbeddingModelError, match="missing_model"):
        register_collection(path, open_store(str(tmp_path / "root")), Lineage(tmp_path / "lineage.duckdb"))


def _source(path, **kw) -> SourceConfig:
    return SourceConfig.model_validate({"name": "s1", "path": str(path), "fields": {"prompt": "text", "answer": "ans"}, **kw})


def test_missing_field_in_every_row_names_field_and_rows(write_jsonl):
    src = write_jsonl([{"question": f"q{i}"} for i in range(12)])
    with pytest.raises(ConfigError) as err:
        load_source(_source(src))
    msg = str(err.value)
    assert "'text'" in msg and "prompt" in msg and "rows 1, 2, 3" in msg and "(12 rows)" in msg and "question" in msg


def test_malformed_rows_are_counted_and_reported(write_jsonl):
    rows = [{"text": f"prompt {i}", "ans": "x"} for i in range(8)]
    rows[3] = {"other": "no text here"}
    rows[5] = {"text": "   ", "ans": "x"}
    src = write_jsonl(rows, raw_lines={2: "{not json"})
    loaded = load_source(_source(src))
    assert loaded.rows_read == 9
    assert len(loaded.records) == 6
    reasons = {m["row"]: m["reason"] for m in loaded.malformed}
    assert set(reasons) == {3, 5, 7}  # JSONL line numbers
    assert "invalid JSON" in reasons[3] and "missing field 'text'" in reasons[5] and "empty" in reasons[7]


def test_too_many_malformed_rows_is_an_error(write_jsonl):
    src = write_jsonl([{"text": "a"}, {"x": 1}, {"x": 2}])
    with pytest.raises(ConfigError, match="missing in rows 2, 3"):
        load_source(_source(src))


def test_empty_source(write_text):
    src = write_text("", "empty.jsonl")
    with pytest.raises(ConfigError, match="empty"):
        load_source(_source(src))


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_source(_source(tmp_path / "missing.jsonl"))
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(b"not a parquet file")
    with pytest.raises(ConfigError, match="cannot read parquet"):
        load_source(_source(bad))


def test_parquet_csv_and_hf_sources(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"text": "hello", "ans": "1"}, {"text": "world", "ans": "2"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    (tmp_path / "d.csv").write_text("text,ans\nhello,1\nworld,2\n")
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "hf_disk"))
    (tmp_path / "hf_json").mkdir()
    (tmp_path / "hf_json" / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    for src in (_source(tmp_path / "d.parquet"), _source(tmp_path / "d.csv"),
                SourceConfig.model_validate({"name": "h", "hf": {"path": str(tmp_path / "hf_disk"), "from_disk": True}, "fields": {"prompt": "text"}}),
                SourceConfig.model_validate({"name": "h2", "hf": {"path": "json", "data_files": str(tmp_path / "hf_json" / "train.jsonl")},
                                             "fields": {"prompt": "text"}})):
        loaded = load_source(src)
        assert [r.prompt for r in loaded.records] == ["hello", "world"], src.type


def test_style_needs_fields():
    with pytest.raises(ValueError, match="helpsteer3 needs fields"):
        SourceConfig.model_validate({"name": "h", "path": "x.jsonl", "style": "helpsteer3", "fields": {"prompt": "p"}})


def test_bad_helpsteer_score_is_malformed(write_jsonl):
    rows = [{"p": "q1", "r1": "a", "r2": "b", "s": 2}, {"p": "q2", "r1": "a", "r2": "b", "s": 7}, {"p": "q3", "r1": "a", "r2": "b", "s": "-1"}]
    src = SourceConfig.model_validate({"name": "h", "path": str(write_jsonl(rows)), "style": "helpsteer3",
                                       "fields": {"prompt": "p", "response1": "r1", "response2": "r2", "scores": "s"}})
    loaded = load_source(src)
    assert len(loaded.records) == 2 and loaded.malformed[0]["row"] == 2 and "-3..3" in loaded.malformed[0]["reason"]


def test_a_mapping_naming_a_missing_column_is_caught_before_registration(write_text, write_jsonl):
    src = write_jsonl([{"text": "a prompt", "answer": "an answer"}, {"text": "another", "answer": "x"}])
    path = write_text(f"collection: mapped\nsources:\n  - name: s1\n    path: {src}\n    fields:\n      prompt: question\n"
                      "dedup: {semantic: false}\nformat: [sft]\n")
    with pytest.raises(ConfigError) as info:
        load_collection(path)
    err = info.value
    assert err.file == str(path) and err.line == 6 and err.field == "sources.0.fields.prompt"
    assert "'question'" in str(err) and "text" in str(err)  # the missing column and the columns found

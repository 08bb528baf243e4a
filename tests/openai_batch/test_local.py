"""The same batch files through the real local model: run-local output parses with the API's parser,
and the whole pipeline (submit -> download -> compile) runs with no key on the local backend."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from synth_assets.recipes.openai_batch.results import parse_results
from synth_assets.recipes.openai_batch.cli import app
from tests.openai_batch.conftest import make_requests, write_input

pytestmark = pytest.mark.slow


def tiny(n: int = 3) -> list[dict]:
    rows = make_requests(n, tag="local")
    for r in rows:
        r["body"].update(max_tokens=8, temperature=0, seed=1)
    from synth_assets.recipes.openai_batch.build import request_id

    return [{**r, "custom_id": request_id(r)} for r in rows]


def test_run_local_output_parses_with_the_api_parser(tmp_path, root, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    rows = tiny(3)
    rows.append({**rows[0], "custom_id": "bad-param", "body": {**rows[0]["body"], "tools": [{"type": "function"}]}})
    path = write_input(tmp_path / "in.jsonl", rows)
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    result = CliRunner().invoke(app, ["run-local", str(path), "--out", str(out), "--errors", str(errors)])
    assert result.exit_code == 0, result.output
    lines, problems = parse_results(out.read_bytes(), str(out))
    assert not problems and len(lines) == 3 and all(line.ok for line in lines)
    assert {line.custom_id for line in lines} == {r["custom_id"] for r in rows[:3]}
    assert all(line.usage["completion_tokens"] <= 8 and line.text is not None for line in lines)
    err_lines, _ = parse_results(errors.read_bytes(), str(errors))
    assert [(e.custom_id, e.status, e.status_code) for e in err_lines] == [("bad-param", "failed", 400)]
    assert "tools" in err_lines[0].error_message
    raw = json.loads(out.read_text().splitlines()[0])
    assert set(raw) == {"id", "custom_id", "response", "error"} and set(raw["response"]) == {"status_code", "request_id", "body"}


def test_pipeline_runs_end_to_end_on_the_local_backend(tmp_path, root, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    from synth_assets.recipes.openai_batch.pipeline import make_pipeline

    pipe = make_pipeline(root, backend="local")
    s = pipe.register_set("local_demo", [write_input(tmp_path / "in.jsonl", tiny(3))])
    [job] = pipe.submit_set(s)
    assert job["status"] == "completed" and job["batch_id"].startswith("batch_local_")
    [state] = pipe.advance_set(s)
    assert state.status == "complete" and state.ok == 3
    rows, failures = pipe.compile_set(s)
    assert len(rows) == 3 and not failures and all(r["model"] for r in rows)
    assert pipe.submit_set(s)[0]["batch_id"] == job["batch_id"]  # never submitted twice

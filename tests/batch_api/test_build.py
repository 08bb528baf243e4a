"""Offline units: slicing, building, input checks, the results parser, cost estimates."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synth_assets.cli.batches_api import app
from synth_assets.recipes.batch_api import build, cost
from synth_assets.recipes.batch_api.errors import InputError
from synth_assets.recipes.batch_api.results import parse_results
from synth_assets.recipes.batch_api.slicer import slice_directory
from tests.batch_api.conftest import make_requests, write_input

JSON_PKG = Path(sysconfig.get_paths()["stdlib"]) / "json"
runner = CliRunner()


def slice_row(**over) -> dict:
    row = {"kind": "function", "path": "pkg/mod.py", "name": "f", "code": "def f(x):\n    return {x: 1}\n",
           "review": {"status": "approved"}}
    row.update(over)
    return row


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_slicer_extracts_functions_and_classes_from_stdlib_json():
    slices, report = slice_directory(JSON_PKG)
    kinds = {s["kind"] for s in slices}
    assert kinds == {"function", "class"} and report.files >= 4
    by_name = {s["qualname"]: s for s in slices}
    assert by_name["json.decoder.JSONDecoder"]["kind"] == "class"
    assert by_name["json.dumps"]["code"].startswith("def dumps(")
    assert by_name["json.dumps"]["path"] == "json/__init__.py"
    assert len({s["id"] for s in slices}) == len(slices)


def test_build_maps_kinds_to_scenarios_caps_and_is_deterministic(tmp_path):
    slices, _ = slice_directory(JSON_PKG)
    path = write_rows(tmp_path / "slices.jsonl", slices)
    tpl = build.load_templates()
    rows = build.read_slices(path)
    first = build.build_requests(rows, tpl)
    again = build.build_requests(build.read_slices(path), tpl)
    assert [r["custom_id"] for r in first.requests] == [r["custom_id"] for r in again.requests]
    assert {m["scenario"] for m in first.meta if m["kind"] == "function"} == {"scenario1"}
    assert {m["scenario"] for m in first.meta if m["kind"] == "class"} == {"scenario2"}
    req = first.requests[0]
    assert req["method"] == "POST" and req["url"] == "/v1/chat/completions" and req["body"]["model"] == "gpt-4o-mini"
    assert req["custom_id"] == build.request_id(req)
    capped = build.build_requests(rows, tpl, max_scenario1=2, max_scenario2=1)
    assert [m["scenario"] for m in capped.meta].count("scenario1") == 2
    assert [m["scenario"] for m in capped.meta].count("scenario2") == 1
    # the code's braces survive templating; rejected slices are left out
    one = build.build_requests([slice_row(), slice_row(name="g", review={"status": "rejected"})], tpl)
    assert len(one.requests) == 1 and one.rejected == 1
    assert "return {x: 1}" in one.requests[0]["body"]["messages"][-1]["content"]


def test_files_split_at_request_and_byte_limits(tmp_path):
    reqs = make_requests(7)
    result = build.BuildResult(reqs, [{"custom_id": r["custom_id"]} for r in reqs])
    paths = build.write_batch_files(result, tmp_path / "a", max_requests=3)
    assert [len(build.validate_input(p).requests) for p in paths] == [3, 3, 1]
    line = len(json.dumps(reqs[0], sort_keys=True)) + 1
    paths = build.write_batch_files(result, tmp_path / "b", max_bytes=2 * line + 5)
    assert all(p.stat().st_size <= 2 * line + 5 for p in paths) and len(paths) == 4
    assert (tmp_path / "b" / "meta.jsonl").is_file()


def test_bad_slices_are_reported_with_line_numbers(tmp_path):
    path = write_rows(tmp_path / "s.jsonl", [slice_row(), slice_row(code=""), {"path": "a.py", "name": "x", "code": "x = 1"},
                                             slice_row(kind="module"), "{not json"])
    with pytest.raises(InputError) as exc:
        build.read_slices(path)
    text = str(exc.value)
    assert "line 2: missing 'code'" in text
    assert "line 3: missing 'kind'" in text
    assert "line 4: unknown kind 'module'" in text
    assert "line 5: not valid JSON" in text
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="empty"):
        build.read_slices(empty)
    result = runner.invoke(app, ["build", str(path), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 2 and "line 2" in result.output and not (tmp_path / "out").exists()


def test_duplicate_custom_id_names_both_lines(tmp_path):
    rows = make_requests(3)
    rows.append(dict(rows[1]))
    path = write_input(tmp_path / "dup.jsonl", rows)
    with pytest.raises(InputError) as exc:
        build.validate_input(path)
    assert f"line 4: duplicate custom_id {rows[1]['custom_id']!r} (first used on line 2)" in str(exc.value)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        build.validate_input(empty)


def test_results_parser_keeps_good_lines_and_names_bad_ones():
    ok = {"id": "r1", "custom_id": "a", "error": None,
          "response": {"status_code": 200, "request_id": "x", "body": {"model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
                                                                    "usage": {"prompt_tokens": 3, "completion_tokens": 1}}}}
    failed = {"id": "r2", "custom_id": "b", "error": None, "response": {"status_code": 500, "request_id": "y", "body": {"error": {"message": "boom"}}}}
    expired = {"id": "r3", "custom_id": "c", "response": None, "error": {"code": "batch_expired", "message": "late"}}
    text = "\n".join([json.dumps(ok), json.dumps(failed)[:20], json.dumps(failed), json.dumps(expired), '{"custom_id": 5}'])
    lines, errors = parse_results(text, "out.jsonl")
    assert [(line.custom_id, line.status) for line in lines] == [("a", "ok"), ("b", "failed"), ("c", "missing")]
    assert lines[0].text == "hi" and lines[0].usage == {"prompt_tokens": 3, "completion_tokens": 1}
    assert "boom" in lines[1].error_message
    assert [e.line_no for e in errors] == [2, 5] and "out.jsonl:2" in str(errors[0])


def test_estimate_uses_price_table_and_batch_discount():
    from synth_assets.llm.pricing import load_prices

    reqs = make_requests(4)
    est = cost.estimate(reqs, load_prices())
    price_in, price_out = load_prices().price("gpt-4o-mini")
    expected = (est["prompt_tokens"] * price_in + est["completion_tokens_max"] * price_out) / 1e6 * 0.5
    assert est["completion_tokens_max"] == 4 * 16
    assert est["cost_usd"] == pytest.approx(expected, rel=1e-4)
    assert est["cost_usd_without_batch_discount"] == pytest.approx(2 * est["cost_usd"], rel=1e-3)

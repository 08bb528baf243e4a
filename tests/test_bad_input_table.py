"""Every bad config of the table (`synth_assets/testing/bad_inputs.py`: 160 edits of a valid config) is refused by
`synth register` with `error: FILE:LINE: FIELD: ...`, no traceback and nothing registered
(`benchmarks/bad_inputs.py` counts the same table for the closing note)."""

from __future__ import annotations

import pytest

from synth_assets.testing.bad_inputs import cases, try_case

CASES = cases()


def test_the_table_is_large_enough_and_its_names_are_unique():
    assert len(CASES) >= 120 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_config_is_refused_clearly_before_registering(case, synth_root, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    outcome, said = try_case(case, tmp_path / "case")
    assert outcome == "clear", said

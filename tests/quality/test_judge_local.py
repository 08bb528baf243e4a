"""The JSON-schema judge on the real local model (SmolLM2-135M via llama.cpp)."""

from __future__ import annotations

import pytest

from synth_assets.core.catalog import find_entry
from synth_assets.llm.client import LLMClient
from synth_assets.quality.calibration import SHIPPED_PAIRS, load_pairs
from synth_assets.quality.validators import ResourceChat, SpecDefaults, build_validators

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("logprobs", [False, True])
def test_local_model_returns_parseable_verdicts_under_the_schema(tmp_path, logprobs):
    entry = find_entry("Copa")
    llm = LLMClient(cache_path=str(tmp_path / "cache.sqlite"), max_in_flight=4)
    chat = ResourceChat(llm)
    defaults = SpecDefaults(prompt=entry.prompts.validation, examples=entry.prompts.validation_examples)
    [judge] = build_validators([{"kind": "judge", "max_json_retries": 0, "logprobs": logprobs}], chat=chat, defaults=defaults)
    pairs = [p for p in load_pairs(SHIPPED_PAIRS) if p.dataset == "Copa"][::6]
    verdicts = judge.validate([p.candidate() for p in pairs])
    assert len(verdicts) == len(pairs) == 10
    assert judge.failed_requests == 0 and not any(v.failed for v in verdicts)  # every first answer parsed
    for v in verdicts:
        assert v.reason.startswith(("same (", "not the same ("))
        assert (0.0 <= v.score <= 1.0) if logprobs else v.score in {1.0, 2.0, 3.0, 4.0, 5.0}
    if logprobs:
        assert all("no logprobs returned" not in v.reason for v in verdicts)
    assert chat.usage.requests == len(pairs) and chat.usage.failures == 0

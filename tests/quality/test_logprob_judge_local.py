"""The log-probability judge on the real local model (SmolLM2-135M via llama.cpp), on any local GGUF."""

from __future__ import annotations

import json
import logging
import os
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.core.config import Sampling
from synth_assets.lib.llm_meter import LLMMeter
from synth_assets.llm.backends import local_server
from synth_assets.llm.client import LLMClient
from synth_assets.llm.types import ChatRequest
from synth_assets.quality.calibration import REWRITE_PAIRS, load_pairs
from synth_assets.quality.validators import ResourceChat, build_validators
from tests.conftest import copa_config

pytestmark = pytest.mark.slow


@pytest.fixture
def judge_copy(tmp_path, monkeypatch):
    """The packaged GGUF under another name, in a folder on $SYNTH_GGUF_PATH."""
    other = tmp_path / "models" / "Judge-Copy.gguf"
    other.parent.mkdir()
    os.symlink(local_server.default_gguf_path(), other)
    monkeypatch.setenv(local_server.GGUF_PATH_ENV, str(other.parent))
    return other


def test_logprob_judge_scores_every_pair_from_yes_and_no(tmp_path):
    chat = ResourceChat(LLMClient(cache_path=str(tmp_path / "cache.sqlite"), max_in_flight=4))
    [judge] = build_validators([{"kind": "logprob_judge", "min_same_prob": 0.4}], chat=chat)
    pairs = load_pairs(REWRITE_PAIRS)[::80]
    verdicts = judge.validate([p.candidate() for p in pairs])
    assert judge.failed_requests == 0 and not any(v.failed for v in verdicts)
    assert all(0.0 < v.score < 1.0 and v.accepted == (v.score >= 0.4) for v in verdicts)
    assert len({v.score for v in verdicts}) > 1  # a probability per pair, not one constant answer


def test_a_stage_sends_a_judge_to_the_gguf_its_model_names(tmp_path, judge_copy):
    run = SimpleNamespace(log=logging.getLogger("test"), tags={}, total_requests=0, failed_requests=0)
    meter = LLMMeter(LLMClient(cache_path=str(tmp_path / "cache.sqlite")), run, "validated")
    request = ChatRequest(messages=[{"role": "user", "content": "Say yes."}], max_tokens=1, temperature=0)
    for model in (str(judge_copy), "judge-copy"):
        [response] = meter(Sampling(backend="local", model=model), [request])
        assert response.ok and response.model == "judge-copy"
    [default] = meter(Sampling(backend="local"), [request])
    assert default.model == "smollm2-135m-instruct-q4_1"


def test_calibrate_runs_judges_on_the_judge_model_given(synth_root, write_yaml, tmp_path, judge_copy):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({k: v for k, v in vars(p).items() if k != "line"}) + "\n"
                             for p in load_pairs(REWRITE_PAIRS)[:6]))
    config = write_yaml(copa_config(validation={"validators": [{"kind": "logprob_judge"}]}))
    result = CliRunner().invoke(app, ["calibrate", str(config), "--pairs", str(pairs), "--judge-model", "judge-copy", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 6 and report["failed"] == 0
    bad = CliRunner().invoke(app, ["calibrate", str(config), "--pairs", str(pairs), "--judge-model", "no-such-model"])
    assert bad.exit_code == 2 and "no GGUF of that name" in bad.output

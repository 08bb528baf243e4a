"""Both judge kinds get the validation section's backend and model; `synth calibrate` keeps a judge set's precision."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from synth_assets.llm.types import ChatResponse
from synth_assets.cli.main import app
from synth_assets.core.stores import open_store
from synth_assets.quality import validator_precision
from synth_assets.quality.calibration import REWRITE_PAIRS
from synth_assets.quality.validators import judge
from synth_assets.recipes.registry import load_experiments
from synth_assets.recipes.rephrase.judging import resolved_validators
from tests.conftest import copa_config

OPENAI = {"backend": "openai", "model": "gpt-4o-mini"}


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


@pytest.mark.parametrize("kind", ["judge", "logprob_judge"])
def test_the_validation_sections_backend_and_model_reach_every_judge_kind(synth_root, write_yaml, api_key, kind):
    config = write_yaml(copa_config(validation={**OPENAI, "validators": ["rules", kind, {"kind": kind, "name": "own", "model": "gpt-4o"}]}))
    specs = {s.name: s for s in resolved_validators(load_experiments(config, synth_root)[0])}
    assert (specs[kind].backend, specs[kind].model) == ("openai", "gpt-4o-mini")
    assert (specs["own"].backend, specs["own"].model) == ("openai", "gpt-4o")  # a judge's own setting wins


class YesToEverything:
    """Stands in for the LLM: every logprob request answers "yes" (P(same) = 0.9)."""

    def __init__(self, llm):
        self.calls = 0

    def __call__(self, requests):
        self.calls += len(requests)
        top = [{"token": "yes", "logprob": math.log(0.9)}, {"token": "no", "logprob": math.log(0.1)}]
        return [ChatResponse(text="yes", backend="openai", model="gpt-4o-mini", request_index=i,
                             logprobs=[{"token": "yes", "logprob": math.log(0.9), "top_logprobs": top}])
                for i, _ in enumerate(requests)]


def test_calibrate_keeps_the_precision_of_a_validator_set_with_a_judge(synth_root, write_yaml, api_key, monkeypatch):
    monkeypatch.setattr(judge, "ResourceChat", YesToEverything)
    config = write_yaml(copa_config(validation={"validators": ["rules", {"kind": "logprob_judge", **OPENAI}]}))
    specs = resolved_validators(load_experiments(config, synth_root)[0])
    assert not validator_precision.measure(specs)["measured"]  # never measured inline
    result = CliRunner().invoke(app, ["calibrate", str(config), "--pairs", str(REWRITE_PAIRS), "--split", "test", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)

    def measure_again(*args, **kwargs):
        raise AssertionError("the precision should come from what synth calibrate kept")

    monkeypatch.setattr(validator_precision, "measure", measure_again)
    kept = validator_precision.cached_measure(open_store(synth_root), specs)
    assert kept["measured"] and kept["n"] == report["n"] and kept["precision"] == pytest.approx(report["precision"])
    assert validator_precision.estimated_correct(0.5, kept)["estimated_correct_rate"] == pytest.approx(0.5 * report["precision"])
    assert report["validator_precision_kept"]


def test_calibrate_on_other_pairs_keeps_nothing(synth_root, write_yaml, api_key, monkeypatch):
    monkeypatch.setattr(judge, "ResourceChat", YesToEverything)
    config = write_yaml(copa_config(validation={"validators": ["rules", {"kind": "logprob_judge", **OPENAI}]}))
    result = CliRunner().invoke(app, ["calibrate", str(config), "--pairs", str(REWRITE_PAIRS), "--split", "dev", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["validator_precision_kept"] is False

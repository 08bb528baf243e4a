"""Validation profiles: `synth calibrate --fit` (k-fold), profile files named by configs, the shipped default."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.recipes.registry import fingerprint, load_experiments
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.calibration import REWRITE_PAIRS, calibrate, load_pairs, of_split
from synth_assets.quality.profile import SHIPPED_PROFILE, Combine, Feature, Logistic, load_profile
from synth_assets.quality.validators import Candidate, build_validators
from synth_assets.recipes.rephrase.judging import resolved_validators
from tests.conftest import copa_config

pytestmark = pytest.mark.usefixtures("synth_root")
OFFLINE = ["rules", "inversion", {"kind": "vocabulary", "min_zipf": 0.0}]


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_fit_writes_a_profile_with_held_out_accuracy_and_fitted_thresholds(write_yaml, tmp_path):
    config = write_yaml(copa_config(validation={"validators": OFFLINE}))
    out = tmp_path / "profile.json"
    figures = json.loads(invoke("calibrate", str(config), "--fit", str(REWRITE_PAIRS), "--split", "dev", "--out", str(out), "--json"))
    assert figures["n"] == len(of_split(load_pairs(REWRITE_PAIRS), "dev")) and figures["folds"] == 5
    majority = max(sum(p.same for p in of_split(load_pairs(REWRITE_PAIRS), "dev")), sum(not p.same for p in of_split(load_pairs(REWRITE_PAIRS), "dev")))
    assert figures["cv_accuracy"]["all"] > majority / figures["n"] + 0.05  # held out, better than always guessing the majority
    profile = load_profile(out)
    [vocabulary] = [v for v in profile.validators if v["kind"] == "vocabulary"]
    assert vocabulary["min_zipf"] > 0.0  # fitted: non-words are rejected on the dev half
    assert profile.combine.kind == figures["combine"] and profile.fitted["source"] == "rewrite_pairs.jsonl (dev half)"


def test_fit_logistic_writes_one_coefficient_per_validator(write_yaml, tmp_path):
    config = write_yaml(copa_config(validation={"validators": OFFLINE}))
    out = tmp_path / "profile.json"
    invoke("calibrate", str(config), "--fit", str(REWRITE_PAIRS), "--split", "dev", "--combine", "logistic", "--out", str(out))
    profile = load_profile(out)
    assert profile.combine.kind == "logistic"
    assert [f.validator for f in profile.combine.features] == ["rules", "inversion", "vocabulary"]
    assert [f.use for f in profile.combine.features] == ["accepted", "accepted", "score"]


def test_a_config_naming_a_profile_takes_its_validators_and_its_combination_into_the_fingerprint(write_yaml, tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir(exist_ok=True)
    for coef in (2.0, 3.0):
        combine = Combine(kind="logistic", features=[Feature(validator="inversion", use="accepted")], coef=[coef], intercept=-1.0)
        (folder / f"profile_{coef}.json").write_text(json.dumps({"validators": [{"kind": "inversion"}], "combine": combine.model_dump()}))
    (a,) = load_experiments(write_yaml(copa_config(validation={"profile": "profile_2.0.json"})))
    (b,) = load_experiments(write_yaml(copa_config(validation={"profile": "profile_3.0.json"})))
    assert [s.kind for s in resolved_validators(a)] == ["inversion"]
    assert a.config.validation.combine.coef == [2.0]
    assert fingerprint(a) != fingerprint(b)  # only the combination's coefficient differs


def test_a_profile_and_validators_together_are_refused(write_yaml, tmp_path):
    (tmp_path / "configs").mkdir(exist_ok=True)
    (tmp_path / "configs" / "p.json").write_text(SHIPPED_PROFILE.read_text())
    with pytest.raises(ConfigError, match="validators or a profile, not both"):
        load_experiments(write_yaml(copa_config(validation={"profile": "p.json", "validators": ["rules"]})))


def test_a_bad_profile_names_its_file_and_field(write_yaml, tmp_path):
    (tmp_path / "configs").mkdir(exist_ok=True)
    bad = tmp_path / "configs" / "bad.json"
    bad.write_text(json.dumps({"validators": [{"kind": "rules"}], "combine": {"kind": "logistic", "threshold": 2}}))
    with pytest.raises(ConfigError, match=r"bad\.json: combine\.threshold"):
        load_experiments(write_yaml(copa_config(validation={"profile": "bad.json"})))


def test_without_validators_a_config_gets_the_shipped_profile(write_yaml):
    (exp,) = load_experiments(write_yaml(copa_config(validation=False)))
    shipped = load_profile(SHIPPED_PROFILE)
    assert [s.model_dump(mode="json") for s in resolved_validators(exp)] == shipped.validators
    assert shipped.fitted["source"] == "rewrite_pairs.jsonl (dev half)"


def test_logistic_combination_decides_on_the_fitted_probability():
    validators = build_validators(["inversion"])
    combine = Combine(kind="logistic", features=[Feature(validator="inversion", use="accepted")], coef=[4.0], intercept=-2.0)
    outcomes = Logistic(validators, combine).judge([Candidate("The man hated it.", "The man loved it.", "premise"),
                                                    Candidate("The man hated it.", "The man detested it.", "premise")])
    assert [o.accepted for o in outcomes] == [False, True]
    assert outcomes[1].verdicts[-1].validator == "profile" and outcomes[1].verdicts[-1].score == pytest.approx(0.8808, abs=1e-3)
    pairs = load_pairs(REWRITE_PAIRS)[:40]
    assert calibrate(pairs, validators, combine).n == 40


def test_a_judge_on_a_local_model_that_does_not_exist_is_refused_before_registering(write_yaml):
    config = copa_config(validation={"validators": ["rules", {"kind": "logprob_judge", "model": "no-such-model"}]})
    with pytest.raises(ConfigError, match=r"validation\.validators\.1\.model.*no GGUF of that name"):
        load_experiments(write_yaml(config))


def test_a_profile_feature_must_name_one_of_its_validators(write_yaml, tmp_path):
    (tmp_path / "configs").mkdir(exist_ok=True)
    combine = Combine(kind="logistic", features=[Feature(validator="similarity", use="score")], coef=[1.0])
    (tmp_path / "configs" / "p.json").write_text(json.dumps({"validators": ["rules"], "combine": combine.model_dump()}))
    with pytest.raises(ConfigError, match=r"p\.json: combine\.features: feature of validator 'similarity'"):
        load_experiments(write_yaml(copa_config(validation={"profile": "p.json"})))

"""Reviewed precision (sampling, the review file, Wilson intervals) and the validators' precision behind
estimated_correct_rate (measured on the shipped pairs, cached once per validator set)."""

from __future__ import annotations

import json
import math

import pytest

from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality import validator_precision
from synth_assets.quality.calibration import load_pairs
from synth_assets.quality.reviews import (Slot, calibration_pairs, read_review_file, reviewed_figures, sample, wilson,
                                          write_review_file)
from synth_assets.quality.validators import parse_specs as resolve_specs
from tests.conftest import local_store

FP = "ab" * 32


def slots(rows: int, fields: tuple[str, ...] = ("premise",)) -> list[Slot]:
    return [Slot(FP, "Copa", r, f, f"original {r} {f}", f"rewrite {r} {f}") for r in range(rows) for f in fields]


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(7, 15), (0, 8), (8, 8), (1, 1)])
def test_wilson_interval_is_the_textbook_one(k, n):
    assert wilson(k, n) == pytest.approx(wilson_by_hand(k, n), abs=1e-9)


def test_reviewed_figures_count_same_over_all_labels():
    figures = reviewed_figures(["same", "not the same", "same", "same"])
    assert figures["reviewed_n"] == 4 and figures["reviewed_precision"] == 0.75
    assert (figures["reviewed_low"], figures["reviewed_high"]) == pytest.approx(wilson_by_hand(3, 4))
    assert reviewed_figures([]) == {"reviewed_n": 0, "reviewed_precision": None, "reviewed_low": None, "reviewed_high": None}


def test_sample_is_seeded_whole_rows_and_extends_past_what_was_reviewed():
    pool = slots(30, ("a", "b"))
    first = sample(pool, 5, seed=3)
    assert first == sample(pool, 5, seed=3) and first != sample(pool, 5, seed=4)
    assert len({s.row for s in first}) == 5 and len(first) == 10  # every rewritten field of each sampled row
    more = sample(pool, 5, seed=3, reviewed={s.key for s in first})
    assert not {s.key for s in more} & {s.key for s in first}
    assert [s.row for s in sample(pool, 10, seed=3)] == [s.row for s in first + more]  # one permutation, continued
    assert sample(pool, 50, seed=3, reviewed={s.key for s in pool}) == []


def labelled_file(tmp_path, pool, labels, edit=None):
    path = tmp_path / "review.jsonl"
    write_review_file(path, pool)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line, label in zip(lines, labels):
        if label is not None:
            line["label"] = label
    if edit:
        edit(lines)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_review_file_round_trip_skips_skips(tmp_path):
    pool = slots(3)
    path = labelled_file(tmp_path, pool, ["same", "skip", "not the same"])
    assert read_review_file(path, FP, pool) == [(pool[0], "same"), (pool[2], "not the same")]


@pytest.mark.parametrize("labels,edit,line,field", [
    (["same", None], None, 2, "label"),
    (["same", "yes"], None, 2, "label"),
    (["same", "same"], lambda lines: lines[1].update(rewrite="something else"), 2, "content_hash"),
    (["same", "same"], lambda lines: lines[0].update(experiment="cd" * 32), 1, "experiment"),
    (["same", "same"], lambda lines: lines[1].update(row=7), 2, "content_hash"),
])
def test_a_bad_review_line_names_file_line_and_field(tmp_path, labels, edit, line, field):
    pool = slots(2)
    path = labelled_file(tmp_path, pool, labels, edit)
    with pytest.raises(ConfigError) as caught:
        read_review_file(path, FP, pool)
    assert (caught.value.line, caught.value.field) == (line, field) and str(path) in str(caught.value)


def test_a_label_of_a_rewrite_that_changed_since_the_export_is_refused(tmp_path):
    pool = slots(2)
    path = labelled_file(tmp_path, pool, ["same", "same"])
    regenerated = [pool[0], Slot(FP, "Copa", 1, "premise", pool[1].original, "a new rewrite")]
    with pytest.raises(ConfigError, match="no longer this rewrite"):
        read_review_file(path, FP, regenerated)


def test_reviews_export_as_calibration_pairs(tmp_path):
    path = tmp_path / "pairs.jsonl"
    reviews = [{"original": "The shirt shrunk.", "rewrite": "The shirt shrunk to fit.", "label": "not the same",
                "dataset": "Copa", "field": "premise"}]
    path.write_text("".join(json.dumps(p) + "\n" for p in calibration_pairs(reviews)))
    [pair] = load_pairs(path)
    assert (pair.original, pair.rephrased, pair.label, pair.kind) == ("The shirt shrunk.", "The shirt shrunk to fit.",
                                                                       "not the same", "reviewed")


def test_validator_precision_is_measured_once_per_validator_set(tmp_path, monkeypatch):
    store = local_store(tmp_path / "root")
    specs = resolve_specs(["rules"])
    measured = validator_precision.cached_measure(store, specs)
    pairs = validator_precision.measurement_pairs()
    accepted = measured["accepted"]
    assert measured["measured"] and measured["n"] == len(pairs) and 0 < accepted < len(pairs)
    assert (measured["low"], measured["high"]) == pytest.approx(wilson_by_hand(round(measured["precision"] * accepted), accepted))
    def measure_again(*args, **kwargs):
        raise RuntimeError("measured again")

    monkeypatch.setattr(validator_precision, "measure", measure_again)
    assert validator_precision.cached_measure(store, specs) == measured
    with pytest.raises(RuntimeError, match="measured again"):  # another validator set is another measurement
        validator_precision.cached_measure(store, resolve_specs([{"kind": "rules", "negation": False}]))


def test_estimated_correct_rate_scales_the_precision_and_its_interval():
    figures = validator_precision.estimated_correct(0.5, {"precision": 0.8, "low": 0.7, "high": 0.9, "pairs": "p.jsonl", "n": 100})
    assert (figures["estimated_correct_rate"], figures["estimated_correct_low"], figures["estimated_correct_high"]) == \
        pytest.approx((0.4, 0.35, 0.45))


def test_a_judge_is_not_measured_inline_and_says_so():
    measured = validator_precision.measure(resolve_specs(["rules", "judge"]))
    assert not measured["measured"] and "judge" in measured["why"]
    figures = validator_precision.estimated_correct(0.75, measured)
    assert figures["estimated_correct_rate"] is None and "not measured inline" in figures["validator_precision_pairs"]

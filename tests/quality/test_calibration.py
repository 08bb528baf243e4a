"""Calibration figures on a tiny file, errors on bad lines, and the shipped calibration set."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from synth_assets.core.catalog import BUILTIN_CATALOG, find_entry, read_jsonl
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.calibration import SHIPPED_PAIRS, calibrate, load_pairs, scores
from synth_assets.quality.validators import RulesSpec, RulesValidator

TINY = [
    {"original": "The man signed the document.", "rephrased": "The man put his signature on the document.", "label": "same", "kind": "paraphrase"},
    {"original": "The cat purred.", "rephrased": "The cat purred.", "label": "same", "kind": "identical"},
    {"original": "The politician lost the election.", "rephrased": "The politician did not lose the election.",
     "label": "not the same", "kind": "negation"},
    {"original": "The skunk sprayed the dog.", "rephrased": "The dog sprayed the skunk.", "label": "not the same", "kind": "swapped_roles"},
    {"original": "The woman won the lottery.", "rephrased": "The woman bought a lottery ticket.", "label": "not the same",
     "kind": "topical_near_miss"},
]


def write(tmp_path: Path, rows: list, name: str = "pairs.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_exact_figures_on_a_tiny_file(tmp_path):
    # rules: accepts the paraphrase and the topical near miss, rejects the copy, the negation and the swap
    report = calibrate(write(tmp_path, TINY), [RulesValidator()])
    assert report.n == 5
    assert report.confusion == {"same": {"same": 1, "not the same": 1}, "not the same": {"same": 1, "not the same": 2}}
    assert report.accuracy == pytest.approx(3 / 5)
    assert report.precision == pytest.approx(1 / 2) and report.recall == pytest.approx(1 / 2) and report.f1 == pytest.approx(1 / 2)
    assert report.per_kind == {"identical": 0.0, "negation": 1.0, "paraphrase": 1.0, "swapped_roles": 1.0, "topical_near_miss": 0.0}
    assert report.per_validator["rules"]["accuracy"] == pytest.approx(3 / 5) and report.pairs_per_s > 0
    assert [e["line"] for e in report.errors] == [2, 5]
    # a second validator that accepts everything the rules reject on negation changes nothing: all must accept
    both = calibrate(write(tmp_path, TINY), [RulesValidator(), RulesValidator(RulesSpec(name="lenient", negation=False))])
    assert both.accuracy == pytest.approx(3 / 5) and both.per_validator["lenient"]["accuracy"] == pytest.approx(2 / 5)


def test_scores_edge_cases():
    assert scores([False, False], [True, False]) | {"confusion": None} == {
        "n": 2, "accuracy": 0.5, "precision": 0.0, "recall": 0.0, "f1": 0.0, "confusion": None}


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "pairs.jsonl:2: invalid JSON"),
    ("[1, 2]", "pairs.jsonl:2: each line must be a JSON object"),
    ('{"original": "a", "label": "same"}', "pairs.jsonl:2: rephrased: missing"),
    ('{"original": "a", "rephrased": "b", "label": "yes"}', "pairs.jsonl:2: label: must be 'same' or 'not the same', got 'yes'"),
    ('{"original": "a", "rephrased": "", "label": "same"}', "pairs.jsonl:2: rephrased: must be a non-empty string"),
    ('{"original": "a", "rephrased": "b", "label": "same", "kind": 3}', "pairs.jsonl:2: kind: must be a non-empty string, got 3"),
    ('{"original": "a", "rephrased": "b", "label": "same", "lable": "x"}', "pairs.jsonl:2: lable: unknown key"),
])
def test_bad_line_names_file_line_and_field(tmp_path, line, message):
    path = write(tmp_path, [TINY[0], line])
    with pytest.raises(ConfigError) as err:
        load_pairs(path)
    assert message in str(err.value) and str(path) in str(err.value)


# ---- the shipped, hand-written set ----

REWRITTEN = {"Copa": "premise", "CB": "hypothesis", "BOOLQ": "question"}
NEGATIVE_KINDS = {"negation", "swapped_roles", "changed_number", "changed_name", "different_event", "topical_near_miss"}


def test_shipped_set_composition():
    pairs = load_pairs(SHIPPED_PAIRS)
    assert len(pairs) >= 150
    labels = Counter(p.label for p in pairs)
    assert abs(labels["same"] - labels["not the same"]) <= len(pairs) * 0.1
    kinds = Counter(p.kind for p in pairs)
    assert NEGATIVE_KINDS <= set(kinds) and {"identical", "near_copy"} <= set(kinds)
    assert all(p.label == "not the same" for p in pairs if p.kind in NEGATIVE_KINDS)
    assert all(p.label == "same" for p in pairs if p.kind not in NEGATIVE_KINDS)  # copies are "same" in meaning
    assert {(p.dataset, p.field) for p in pairs} == set(REWRITTEN.items())
    assert len({(p.original, p.rephrased) for p in pairs}) == len(pairs)


def test_shipped_originals_are_real_rows_of_the_rewritten_field():
    for dataset, field in REWRITTEN.items():
        entry = find_entry(dataset)
        assert entry.rewrite_fields == [field]
        texts = {row[field] for row in read_jsonl(entry.split_path("train"))}
        missing = [p.original for p in load_pairs(SHIPPED_PAIRS) if p.dataset == dataset and p.original not in texts]
        assert not missing


def test_no_shipped_pair_is_a_few_shot_example_of_a_catalog_prompt():
    examples = set()
    for path in BUILTIN_CATALOG.glob("*.yaml"):
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        for ex in (entry.get("prompts") or {}).get("validation_examples") or []:
            examples |= {ex["original"], ex["rephrased"]}
    assert len(examples) >= 6
    overlapping = [p for p in load_pairs(SHIPPED_PAIRS) if p.original in examples or p.rephrased in examples]
    assert not overlapping

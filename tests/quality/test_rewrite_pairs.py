"""The shipped rewrite calibration set: real rows, both labels, every kind, dev/test halves by row, no few-shot overlap."""

from __future__ import annotations

import json
from collections import Counter

import yaml

from synth_assets.core.catalog import BUILTIN_CATALOG
from synth_assets.quality.calibration import REWRITE_PAIRS, load_pairs, of_split
import importlib.util
from synth_assets.quality.calibration import SHIPPED_PAIRS

_spec = importlib.util.spec_from_file_location("make_pairs", SHIPPED_PAIRS.parent / "make_pairs.py")
make_pairs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_pairs)

KINDS = {"restructured", "synonyms", "longer", "shorter", "antonym", "reversed_outcome", "nonword", "misspelling", "added_fact",
         "dropped_fact", "swapped_roles", "changed_number", "changed_name", "negation", "another_row", "other_choice"}


def test_the_set_is_large_covers_four_datasets_and_every_kind():
    pairs = load_pairs(REWRITE_PAIRS)
    assert len(pairs) >= 600
    assert set(Counter(p.dataset for p in pairs)) == {"Copa", "CB", "BOOLQ", "ScienceMC"}
    assert {p.kind for p in pairs} == KINDS
    for dataset in ("Copa", "CB", "BOOLQ", "ScienceMC"):
        labels = Counter(p.label for p in pairs if p.dataset == dataset)
        assert labels["same"] >= 80 and labels["not the same"] >= 100, (dataset, labels)


def test_every_original_is_the_real_value_of_the_named_row():
    sources = make_pairs._sources()
    for p in load_pairs(REWRITE_PAIRS):
        assert make_pairs._value(sources[p.dataset]["rows"][p.row], p.field) == p.original, (p.line, p.row)


def test_halves_split_by_row_and_are_balanced():
    pairs = load_pairs(REWRITE_PAIRS)
    dev, test = of_split(pairs, "dev"), of_split(pairs, "test")
    assert len(dev) + len(test) == len(pairs) and abs(len(dev) - len(test)) < 0.1 * len(pairs)
    assert not {(p.dataset, p.row) for p in dev} & {(p.dataset, p.row) for p in test}
    for half in (dev, test):
        assert set(Counter(p.dataset for p in half)) == {"Copa", "CB", "BOOLQ", "ScienceMC"}


def test_no_pair_uses_a_few_shot_example_of_the_catalog_prompts():
    examples = set()
    for path in BUILTIN_CATALOG.glob("*.yaml"):
        for ex in (yaml.safe_load(path.read_text(encoding="utf-8")).get("prompts") or {}).get("validation_examples") or []:
            examples |= {ex["original"], ex["rephrased"]}
    assert len(examples) >= 6
    assert not [p for p in load_pairs(REWRITE_PAIRS) if p.original in examples or p.rephrased in examples]


def test_the_file_is_what_the_script_builds_from_the_rewrites():
    built = make_pairs.build()
    shipped = [json.loads(line) for line in REWRITE_PAIRS.read_text(encoding="utf-8").splitlines()]
    assert shipped == [{k: p[k] for k in shipped[0]} for p in built]


def test_same_pairs_sit_as_far_from_their_originals_as_strong_model_rewrites():
    """A strong model's paraphrase of a Copa premise has a MiniLM cosine of about 0.80 to it; near-copies (0.93 before)
    would make the similarity band look better than it is on real rewrites."""
    stats = make_pairs.same_pair_stats(make_pairs.build())
    assert stats["all"]["median"] <= 0.83 and stats["test"]["median"] <= 0.83 and stats["dev"]["median"] <= 0.83, stats
    assert stats["Copa"]["median"] <= 0.80, stats["Copa"]

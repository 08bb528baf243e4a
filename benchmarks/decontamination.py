"""Decontamination's n-gram size on evidence: false hits on the original rows, recall on planted copies.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/decontamination.py                  # n = 5..13, ~30 s
    PYTHONPATH=$PWD .venv/bin/python benchmarks/decontamination.py --ngrams 8 13 --out decon.json

Datasets: the shipped Copa, CB, BoolQ (datasets/superglue/) and the multiple-choice ScienceMC
(datasets/handmade/); each train split is checked against the texts the publish step checks it
against (every text of the dataset's other splits, label left out: `publishing.split_references`).

- **False hits**: train rows, unchanged (no synthesis), that overlap a reference: what a check
  without originals flags. Counted on the catalog's rewritten fields (what the publish step checks)
  and on every text field (a user may rewrite the BoolQ passage or the CB premise). Train and
  evaluation rows were written independently, so these rates estimate how often an honest rewrite
  shares text with the evaluation splits by chance. `sentence` hits (an exact normalised sentence
  of >= 2 words, e.g. Copa's "I scratched my skin.") do not depend on n and are counted apart.
- **Paraphrase false alarms**: the shipped calibration set's "same" pairs (rewrites a strong
  model wrote for Copa, CB and BoolQ rows), checked as rewrites of their originals: matches the
  paraphrase introduced.
- **Planted recall**: a train row's field replaced by a copy of the same field of an evaluation row
  (questions, premises, hypotheses; CB premises and BoolQ passages as passages), checked as a rewrite
  of the train row; found when it has an introduced match. Variants: `verbatim`; `framed` (a lead-in
  "Put another way, " before the copy); `one_word` (the middle word replaced); `1_in_10` (every
  tenth word replaced, from the fifth on). Up to `--planted` references per dataset and field, drawn
  with `--seed`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from synth_assets.core.catalog import find_entry  # noqa: E402
from synth_assets.core.fields import text_fields  # noqa: E402
from synth_assets.quality.calibration import SHIPPED_PAIRS, load_pairs  # noqa: E402
from synth_assets.quality.decontamination import DEFAULT_NGRAM, DecontaminationIndex  # noqa: E402
from synth_assets.recipes.rephrase.publishing import split_references  # noqa: E402

DATASETS = ("Copa", "CB", "BOOLQ", "ScienceMC")
# the fields planted copies go into: the catalog's rewritten (short) field, and the long passage where there is one
PLANTED_FIELDS = {"Copa": ("premise",), "CB": ("hypothesis", "premise"), "BOOLQ": ("question", "passage"), "ScienceMC": ("question",)}
PASSAGES = {("CB", "premise"), ("BOOLQ", "passage")}  # long, multi-sentence texts
VARIANTS = ("verbatim", "framed", "one_word", "1_in_10")
LEAD_IN = "Put another way, "


def plant(reference: str, variant: str, replacement: str) -> str:
    """A near copy of `reference` (see the module doc); `replacement`: the word that replaces others."""
    words = reference.split()
    if variant == "framed":
        return LEAD_IN + reference[:1].lower() + reference[1:]
    if variant == "one_word":
        words[len(words) // 2] = replacement
    elif variant == "1_in_10":
        for i in range(min(4, len(words) - 1), len(words), 10):
            words[i] = replacement
    return " ".join(words)


def planted_rows(name: str, train: list[dict], per_field: int, rnd: random.Random) -> list[tuple[dict, dict, str, str]]:
    """(planted row, its train row, field, variant) for up to `per_field` references per planted field and variant."""
    entry = find_entry(name)
    out = []
    for field in PLANTED_FIELDS[name]:
        references = [row[field] for split in entry.splits if split != "train" for row in entry.rows(split)
                      if isinstance(row.get(field), str) and len(row[field].split()) >= 3]
        for reference in rnd.sample(references, min(per_field, len(references))):
            source = rnd.choice(train)
            for variant in VARIANTS:
                out.append(({**source, field: plant(reference, variant, "zyzzyva")}, source, field, variant))
    return out


def measure(name: str, n: int, planted: list[tuple[dict, dict, str, str]], paraphrases: list) -> dict:
    entry = find_entry(name)
    references = split_references(entry, "train")
    train = entry.rows("train")
    started = time.perf_counter()
    index = DecontaminationIndex(references, n=n)
    out: dict = {"train_rows": len(train), "references": len(references)}
    for scope, fields in (("rewrite_fields", entry.rewrite_fields), ("all_fields", entry.fields)):
        texts = [text_fields(r, fields) for r in train]
        hits = index.check(texts, list(dict.fromkeys(k for t in texts for k in t)))
        out[scope] = {"rows": len({h.row for h in hits}), "ngram_rows": len({h.row for h in hits if h.kind == "ngram"}),
                      "examples": [f"{texts[h.row][h.field][:80]!r} ~ {h.reference}" for h in hits if h.kind == "ngram"][:3]}
    alarms = index.check([{"t": p.rephrased} for p in paraphrases], ["t"], [{"t": p.original} for p in paraphrases])
    out["paraphrases"] = {"pairs": len(paraphrases), "false_alarms": sum(1 for h in alarms if h.introduced)}
    found = defaultdict(lambda: [0, 0])
    for field in PLANTED_FIELDS[name]:
        group = [(row, source, variant) for row, source, f, variant in planted if f == field]
        hits = index.check([r for r, _, _ in group], [field], [s for _, s, _ in group])
        introduced = {h.row for h in hits if h.introduced}
        for i, (_, _, variant) in enumerate(group):
            length = "long" if (name, field) in PASSAGES else "short"
            for key in (variant, length, "all"):
                found[key][0] += i in introduced
                found[key][1] += 1
    out["planted"] = {k: {"found": f, "planted": p} for k, (f, p) in found.items()}
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ngrams", type=int, nargs="+", default=[5, 6, 7, 8, 9, 10, 11, 13])
    parser.add_argument("--planted", type=int, default=100, help="references planted per dataset and field (each in 4 variants)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write all figures as JSON here")
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    pairs = [p for p in load_pairs(SHIPPED_PAIRS) if p.label == "same"]
    planted = {name: planted_rows(name, find_entry(name).rows("train"), args.planted, rnd) for name in DATASETS}
    results = {n: {name: measure(name, n, planted[name], [p for p in pairs if p.dataset == name]) for name in DATASETS}
               for n in args.ngrams}
    print_tables(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


def _share(found: int, total: int) -> str:
    return f"{found}/{total} ({found / total:.2f})" if total else "-"


def print_tables(results: dict) -> None:
    first = next(iter(results.values()))
    print("False hits: unchanged train rows that overlap an evaluation text (n-gram or sentence), rewritten fields | every text field")
    print("| n | " + " | ".join(f"{d} ({first[d]['train_rows']} rows) | {d} all fields" for d in DATASETS)
          + " | paraphrase false alarms |")
    print("|---" * (2 * len(DATASETS) + 2) + "|")
    for n, by in results.items():
        cells = [f"{by[d]['rewrite_fields']['rows']} (n-gram {by[d]['rewrite_fields']['ngram_rows']}) | "
                 f"{by[d]['all_fields']['rows']} (n-gram {by[d]['all_fields']['ngram_rows']})" for d in DATASETS]
        alarms = sum(by[d]["paraphrases"]["false_alarms"] for d in DATASETS)
        pairs = sum(by[d]["paraphrases"]["pairs"] for d in DATASETS)
        print(f"| {n}{' (default)' if n == DEFAULT_NGRAM else ''} | " + " | ".join(cells) + f" | {alarms}/{pairs} |")
    print("\nPlanted copies found (introduced overlap), all datasets")
    keys = (*VARIANTS, "short", "long", "all")
    print("| n | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for n, by in results.items():
        cells = []
        for key in keys:
            found = sum(by[d]["planted"].get(key, {}).get("found", 0) for d in DATASETS)
            total = sum(by[d]["planted"].get(key, {}).get("planted", 0) for d in DATASETS)
            cells.append(_share(found, total))
        print(f"| {n} | " + " | ".join(cells) + " |")
    print("\nn-gram false hits at the smallest n (rewritten fields):")
    smallest = results[min(results)]
    for d in DATASETS:
        for example in smallest[d]["rewrite_fields"]["examples"]:
            print(f"  {d}: {example}")


if __name__ == "__main__":
    main()

"""Build `rewrite_pairs.jsonl` from the real rows and the hand-written rewrites in `rewrites/*.txt`.

    .venv/bin/python synth_assets/quality/calibration/make_pairs.py
    .venv/bin/python synth_assets/quality/calibration/make_pairs.py --stats   # median MiniLM cosine of the "same" pairs

Each rewrite line is `ROW KIND: TEXT`; the original is that row's real field value, the label follows
from the kind. Two negative kinds are taken from the data rather than written: `another_row` (another
row's value of the same field) and `other_choice` (Copa: the row's wrong answer choice; ScienceMC: another
option of the same question). The dev/test split is by row (every pair of one row lands in the same
half), alternating over the rows of each dataset in the order of a hash of their ids.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
OUT = HERE / "rewrite_pairs.jsonl"
SAME_KINDS = {"restructured", "synonyms", "longer", "shorter"}
NOT_SAME_KINDS = {"antonym", "reversed_outcome", "nonword", "misspelling", "added_fact", "dropped_fact", "swapped_roles",
                  "changed_number", "changed_name", "negation", "another_row", "other_choice"}
_LINE = re.compile(r"^(\S+) (\w+): (.+)$")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sources() -> dict[str, dict]:
    """Per dataset: its rewrites file and a lookup from row id to (field, value) getters."""
    sg, hm = REPO / "datasets" / "superglue", REPO / "datasets" / "handmade" / "ScienceMC"
    copa = {f"copa_train:{r['idx']}": r for r in _jsonl(sg / "Copa" / "copa_train.jsonl")}
    cb = {f"cb_train:{r['idx']}": r for r in _jsonl(sg / "CB" / "cb_train.jsonl")}
    boolq = {f"boolq_train:{i}": r for i, r in enumerate(_jsonl(sg / "BOOLQ" / "boolq_train.jsonl"))}
    sci = {r["id"]: r for split in ("train", "validation") for r in _jsonl(hm / f"sciencemc_{split}.jsonl")}
    return {"Copa": {"file": "copa.txt", "rows": copa, "prefix": "copa_train:", "field": "premise"},
            "CB": {"file": "cb.txt", "rows": cb, "prefix": "cb_train:", "field": "hypothesis"},
            "BOOLQ": {"file": "boolq.txt", "rows": boolq, "prefix": "boolq_train:", "field": "question"},
            "ScienceMC": {"file": "sciencemc.txt", "rows": sci, "prefix": "", "field": None}}


def _value(row: dict, field: str) -> str:
    match = re.fullmatch(r"choices\.text\[(\d)\]", field)
    return row["choices"]["text"][int(match.group(1))] if match else row[field]


def _hand_written(dataset: str, source: dict) -> list[dict]:
    pairs = []
    path = HERE / "rewrites" / source["file"]
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise SystemExit(f"{path}:{number}: expected 'ROW KIND: TEXT'")
        ref, kind, text = match.groups()
        if kind not in SAME_KINDS | NOT_SAME_KINDS:
            raise SystemExit(f"{path}:{number}: unknown kind {kind!r}")
        row_id, field = ref.split("/", 1) if "/" in ref else (source["prefix"] + ref, source["field"])
        original = _value(source["rows"][row_id], field)
        if text.strip() == original.strip():
            raise SystemExit(f"{path}:{number}: the rewrite is the original")
        pairs.append({"dataset": dataset, "field": field, "row": row_id, "kind": kind,
                      "label": "same" if kind in SAME_KINDS else "not the same", "original": original, "rephrased": text})
    return pairs


def _from_data(dataset: str, source: dict, written: list[dict]) -> list[dict]:
    """`another_row` for every 4th written row (the next written row's value), `other_choice` for every 2nd (Copa)
    or every 3rd (ScienceMC questions' options)."""
    out = []
    keys = list(dict.fromkeys((p["row"], p["field"]) for p in written if not p["field"].startswith("choices")))
    for i, (row_id, field) in enumerate(keys):
        row = source["rows"][row_id]
        base = {"dataset": dataset, "field": field, "row": row_id, "label": "not the same", "original": _value(row, field)}
        if i % 4 == 0:
            other_id, other_field = keys[(i + 1) % len(keys)]
            out.append({**base, "kind": "another_row", "rephrased": _value(source["rows"][other_id], other_field)})
        if dataset == "Copa" and i % 2 == 0:
            out.append({**base, "kind": "other_choice", "rephrased": row["choice2" if row["label"] == 0 else "choice1"]})
        if dataset == "ScienceMC" and i % 3 == 0:
            texts, answer = row["choices"]["text"], "ABCD".index(row["answerKey"])
            out.append({**base, "field": f"choices.text[{answer}]", "kind": "other_choice", "original": texts[answer],
                        "rephrased": texts[(answer + 1) % len(texts)]})
    return out


def _split(pairs: list[dict]) -> None:
    """dev/test by row: the rows of each dataset in hash order, alternating."""
    for dataset in dict.fromkeys(p["dataset"] for p in pairs):
        rows = sorted({p["row"] for p in pairs if p["dataset"] == dataset}, key=lambda r: hashlib.sha256(r.encode()).hexdigest())
        half = {r: "dev" if i % 2 == 0 else "test" for i, r in enumerate(rows)}
        for p in pairs:
            if p["dataset"] == dataset:
                p["split"] = half[p["row"]]


def build() -> list[dict]:
    pairs = []
    for dataset, source in _sources().items():
        written = _hand_written(dataset, source)
        pairs += written + _from_data(dataset, source, written)
    _split(pairs)
    return pairs


def same_pair_stats(pairs: list[dict]) -> dict[str, dict[str, float]]:
    """Median all-MiniLM-L6-v2 cosine (and the share below 0.80) of the "same" pairs, per dataset and half and overall:
    how close the positives sit to their originals (a strong model's paraphrase of a Copa premise is about 0.80)."""
    from synth_assets.quality.validators import SimilarityValidator  # loads torch: only for --stats

    same = [p for p in pairs if p["label"] == "same"]
    cosines = SimilarityValidator().similarities([(p["original"], p["rephrased"]) for p in same])
    groups: dict[str, list[float]] = {}
    for p, cosine in zip(same, cosines):
        for key in (f"{p['dataset']}/{p['split']}", p["dataset"], p["split"], "all"):
            groups.setdefault(key, []).append(float(cosine))
    return {key: {"n": len(values), "median": round(statistics.median(values), 3),
                  "below_0.80": round(sum(v < 0.80 for v in values) / len(values), 2)} for key, values in sorted(groups.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stats", action="store_true", help="print the 'same' pairs' median cosine per dataset and half")
    if parser.parse_args().stats:
        for key, row in same_pair_stats(build()).items():
            print(f"{key:16} n={row['n']:4} median={row['median']:.3f} below_0.80={row['below_0.80']:.2f}")
        return
    pairs = build()
    keys = ("dataset", "field", "row", "split", "kind", "label", "original", "rephrased")
    OUT.write_text("".join(json.dumps({k: p[k] for k in keys}, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    print(f"{len(pairs)} pairs -> {OUT}")


if __name__ == "__main__":
    main()

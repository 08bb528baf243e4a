"""Validator quality and speed on the shipped calibration set, and decontamination throughput.

    .venv/bin/python benchmarks/validators.py --decon-rows 0             # the test-half table, logprob judge on SmolLM2
    .venv/bin/python benchmarks/validators.py --no-judge --decon-rows 0  # quick: offline validators only
    .venv/bin/python benchmarks/validators.py --pairs synth_assets/quality/calibration/superglue_pairs.jsonl  # old set

With a pairs file that has dev/test halves (the default, `rewrite_pairs.jsonl`) it prints the validators' table
on the test half: each validator alone and in combination (all must accept, and a logistic combination), fitted
on the dev half only (see `validator_halves.py`); the logprob judge runs on `--judge-model` (default SmolLM2-135M).
The rest of this docstring describes the run on a set without halves (the 180-pair `superglue_pairs.jsonl`).

Validators: `rules`, `similarity` (defaults), and on the real local model (SmolLM2-135M):
`judge` (JSON schema, each pair's catalog validation prompt + few-shot examples; `--backend openai
--model gpt-4o-mini` measures another backend's judge), `judge_builtin`
(the built-in prompt, no examples), `judge_logprobs` (as `judge`, verdict from P(same)) and the
current free-text judge of the rephrase recipe (`freetext_judge`: catalog prompt, max_tokens 8,
parsed with `rephrase.verdict`) as the baseline. Every validator sees every pair; combinations are
scored by AND-ing verdicts. pairs/s of a combination = pairs / the sum of its validators' seconds.

Decontamination: a 10,000-row reference (every validation/test row of the repo's SuperGLUE splits,
4,176 rows, topped up with rows whose words are shuffled copies of those rows) and `--decon-rows` query rows (train texts with one word
replaced, plus 1,000 planted verbatim copies of Copa test premises, which must all be found).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from synth_assets.core.catalog import find_entry  # noqa: E402
from synth_assets.core.models import BACKENDS, DEFAULT_BACKEND  # noqa: E402
from synth_assets.llm.client import LLMClient  # noqa: E402
from synth_assets.llm.types import ChatRequest  # noqa: E402
from benchmarks import validator_halves  # noqa: E402
from synth_assets.quality.calibration import REWRITE_PAIRS, LabelledPair, load_pairs, report, run_validators  # noqa: E402
from synth_assets.quality.decontamination import DecontaminationIndex, references_from_rows  # noqa: E402
from synth_assets.quality.validators import (  # noqa: E402
    Candidate, ResourceChat, SpecDefaults, Verdict, build_validators,
)
from synth_assets.recipes.rephrase.judging import legacy_verdict as freetext_verdict  # noqa: E402

SUPERGLUE = REPO / "datasets" / "superglue"
COMBINATIONS = [
    ["rules"], ["similarity"], ["judge"], ["judge_builtin"], ["judge_logprobs"], ["freetext_judge"],
    ["rules", "similarity"], ["rules", "judge"], ["similarity", "judge"], ["rules", "similarity", "judge"],
    ["rules", "similarity", "judge_logprobs"],
]


class PerDataset:
    """One validator per catalog dataset (its validation prompt and examples), as the recipe would use.
    `datasets[i]` is the dataset of candidate i (every validator sees all pairs, in order)."""

    def __init__(self, name: str, make, datasets: list[str]):
        self.name, self.make, self.datasets, self.built = name, make, datasets, {}

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        out: list[Verdict | None] = [None] * len(candidates)
        groups: dict[str, list[int]] = {}
        for i, dataset in enumerate(self.datasets):
            groups.setdefault(dataset, []).append(i)
        for dataset, indices in groups.items():
            if dataset not in self.built:
                self.built[dataset] = self.make(find_entry(dataset))
            for i, v in zip(indices, self.built[dataset].validate([candidates[i] for i in indices])):
                out[i] = v
        return out  # type: ignore[return-value]


class FreeTextJudge:
    """The rephrase recipe's current judge: free text, parsed for same / not the same."""

    def __init__(self, entry, chat):
        self.name, self.chat, self.prompt = "freetext_judge", chat, entry.prompts.validation
        self.shots = []
        for ex in entry.prompts.validation_examples:
            self.shots += [{"role": "user", "content": self.prompt.format_map({"field_name": "", **ex})},
                           {"role": "assistant", "content": ex["answer"]}]

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        requests = [ChatRequest(messages=self.shots + [{"role": "user", "content": self.prompt.format_map(
            {"original": c.original, "rephrased": c.rewrite, "field_name": c.field})}], temperature=0.0, max_tokens=8, seed=0)
            for c in candidates]
        out = []
        for r in self.chat(requests):
            said = freetext_verdict(r.text) if r.ok else "error"
            out.append(Verdict(self.name, said == "same", None, f"{said}: {r.text!r}", failed=not r.ok or said == "unclear"))
        return out


def calibration(pairs: list[LabelledPair], args: argparse.Namespace, cache_dir: Path) -> dict:
    validators = build_validators(["rules", "similarity"])
    validators[1].validate([pairs[0].candidate()])  # loads the embedding model: not timed
    chat = None
    if not args.no_judge:
        llm = LLMClient(backend=args.backend, model=args.model, base_url=args.base_url,
                        cache_path=str(cache_dir / "llm_cache.sqlite"), max_in_flight=8)
        chat = ResourceChat(llm)
        chat([ChatRequest(messages=[{"role": "user", "content": "warm up"}], max_tokens=4, temperature=0)])  # server start, not timed

        backend = {"backend": args.backend, "model": args.model}

        def judge_for(name: str, **spec):
            def make(entry):
                defaults = SpecDefaults(prompt=entry.prompts.validation, examples=entry.prompts.validation_examples)
                return build_validators([{"kind": "judge", "name": name, **backend, **spec}], chat=chat, defaults=defaults)[0]
            return make

        datasets = [p.dataset for p in pairs]
        validators += [
            PerDataset("judge", judge_for("judge"), datasets),
            PerDataset("judge_builtin", lambda entry: build_validators([{"kind": "judge", "name": "judge_builtin", **backend}],
                                                                      chat=chat)[0], datasets),
            PerDataset("judge_logprobs", judge_for("judge_logprobs", logprobs=True), datasets),
            PerDataset("freetext_judge", lambda entry: FreeTextJudge(entry, chat), datasets),
        ]
    verdicts, seconds = run_validators(pairs, validators)
    results = {}
    for combo in COMBINATIONS:
        if all(name in verdicts for name in combo):
            results["+".join(combo)] = report(pairs, verdicts, seconds, combo).to_dict()
    judges = [v for v in validators if isinstance(v, PerDataset)]
    stats = {v.name: {k: sum(getattr(b, k) for b in v.built.values()) for k in ("requests_sent", "json_retries", "failed_requests")}
             for v in judges if v.name != "freetext_judge"}
    return {"combinations": results, "judge_requests": stats, "similarity_sweep": similarity_sweep(pairs, verdicts),
            "drift_rejected": drift(pairs), "llm_usage": chat.usage.to_dict() if chat else None}


def drift(pairs: list[LabelledPair], seed: int = 0) -> dict[str, float]:
    """Share of drifted rewrites rejected: each original paired with another original of the same dataset
    (what a rewriter that ignores its input produces). The calibration negatives are near-misses instead."""
    rnd = random.Random(seed)
    originals: dict[str, list[str]] = {}
    for p in pairs:
        originals.setdefault(p.dataset, list(dict.fromkeys(q.original for q in pairs if q.dataset == p.dataset)))
    drifted = []
    for p in pairs:
        other = rnd.choice([o for o in originals[p.dataset] if o != p.original])
        drifted.append(LabelledPair(p.original, other, "not the same", "drift", p.dataset, p.field))
    verdicts, _ = run_validators(drifted, build_validators(["rules", "similarity"]))
    out = {name: sum(not v.accepted for v in vs) / len(vs) for name, vs in verdicts.items()}
    out["rules+similarity"] = sum(not (a.accepted and b.accepted) for a, b in zip(verdicts["rules"], verdicts["similarity"])) / len(pairs)
    return out


def similarity_sweep(pairs: list[LabelledPair], verdicts: dict) -> list[dict]:
    sims = [v.score for v in verdicts["similarity"]]
    rules = [v.accepted for v in verdicts["rules"]]
    rows = []
    for lo in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9):
        for hi in (0.97, 0.99, 1.0):
            alone = [lo <= s <= hi for s in sims]
            both = [a and r for a, r in zip(alone, rules)]
            rows.append({"min": lo, "max": hi,
                         "accuracy_similarity": sum(a == p.same for a, p in zip(alone, pairs)) / len(pairs),
                         "accuracy_rules_similarity": sum(a == p.same for a, p in zip(both, pairs)) / len(pairs),
                         "recall_paraphrase_rules_similarity": _recall(both, pairs)})
    return rows


def _recall(predicted: list[bool], pairs: list[LabelledPair]) -> float:
    kept = [p for a, p in zip(predicted, pairs) if p.kind in ("paraphrase", "close_paraphrase") and a]
    return len(kept) / sum(p.kind in ("paraphrase", "close_paraphrase") for p in pairs)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def decontamination(rows: int, seed: int = 0) -> dict:
    rnd = random.Random(seed)
    real = [r for path in sorted(SUPERGLUE.glob("*/*.jsonl")) if "_train" not in path.name for r in read(path)]
    reference_rows = list(real)
    while len(reference_rows) < 10_000:
        row = rnd.choice(real)
        reference_rows.append({k: " ".join(rnd.sample(v.split(), len(v.split()))) for k, v in row.items() if isinstance(v, str)})
    references = references_from_rows(reference_rows[:10_000], "reference")
    test_premises = [r["premise"] for r in read(SUPERGLUE / "Copa" / "copa_test.jsonl")]
    train = [r[f] for d, f in (("Copa/copa_train", "premise"), ("CB/cb_train", "hypothesis"), ("BOOLQ/boolq_train", "question"))
             for r in read(SUPERGLUE / f"{d}.jsonl")]
    vocab = sorted({w for t in train for w in t.split()})
    query = []
    for _ in range(rows - 1000):
        words = rnd.choice(train).split()
        words[rnd.randrange(len(words))] = rnd.choice(vocab)
        query.append({"text": " ".join(words)})
    planted = sorted(rnd.sample(range(len(query)), 1000))
    for i in planted:
        query.insert(i, {"text": rnd.choice(test_premises)})
    started = time.perf_counter()
    index = DecontaminationIndex(references)
    built = time.perf_counter() - started
    started = time.perf_counter()
    hits = index.check(query, ["text"])
    seconds = time.perf_counter() - started
    planted_rows = {i for i, q in enumerate(query) if q["text"] in set(test_premises)}
    found = {h.row for h in hits}
    return {"reference_rows": 10_000, "index": index.sizes, "build_s": round(built, 2), "query_rows": len(query),
            "check_s": round(seconds, 2), "rows_per_min": round(len(query) / seconds * 60),
            "planted_copies": len(planted_rows), "planted_found": len(planted_rows & found), "hits": len(hits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=REWRITE_PAIRS)
    parser.add_argument("--judge-model", help="local GGUF (path or name) of the logprob judge on a set with halves")
    parser.add_argument("--cache", type=Path, help="LLM cache file (default: a temporary one)")
    parser.add_argument("--no-judge", action="store_true", help="skip the LLM judges")
    parser.add_argument("--backend", default=DEFAULT_BACKEND, choices=BACKENDS, help="judge backend")
    parser.add_argument("--model", help="judge model (required for openai / vllm)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint for --backend openai")
    parser.add_argument("--decon-rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, help="write all figures as JSON here")
    args = parser.parse_args()
    pairs = load_pairs(args.pairs)
    for p in pairs:
        if p.dataset == "unspecified":
            raise SystemExit(f"{args.pairs}:{p.line}: dataset: needed to pick the catalog prompt")
    if all(p.split for p in pairs):
        results = {"halves": halves(pairs, args)}
        validator_halves.print_table(results["halves"])
        if args.decon_rows:
            results["decontamination"] = decontamination(args.decon_rows)
            print("\ndecontamination:", json.dumps(results["decontamination"]))
        if args.out:
            args.out.write_text(json.dumps(results, indent=2, default=float))
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = {"calibration": calibration(pairs, args, Path(tmp))}
    results["decontamination"] = decontamination(args.decon_rows)
    print_tables(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


def halves(pairs: list[LabelledPair], args: argparse.Namespace) -> dict:
    if args.no_judge:
        return validator_halves.table(pairs)
    cache = args.cache or Path(tempfile.mkdtemp()) / "llm_cache.sqlite"
    llm = LLMClient(backend=args.backend, model=args.judge_model or args.model, base_url=args.base_url,
                    cache_path=str(cache), max_in_flight=8)
    chat = ResourceChat(llm)
    chat([ChatRequest(messages=[{"role": "user", "content": "warm up"}], max_tokens=4, temperature=0)])  # server start, not timed
    judge = {"kind": "logprob_judge", "backend": args.backend, "model": args.judge_model or args.model}
    result = validator_halves.table(pairs, {k: v for k, v in judge.items() if v is not None}, chat)
    result["judge_model"] = llm.resolved_model(args.model)
    return result


def print_tables(results: dict) -> None:
    combos = results["calibration"]["combinations"]
    kinds = sorted(next(iter(combos.values()))["per_kind"])
    print("| validators | accuracy | precision | recall | F1 | pairs/s | failed | " + " | ".join(kinds) + " |")
    print("|---" * (7 + len(kinds)) + "|")
    for name, r in combos.items():
        print(f"| {name} | {r['accuracy']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
              f"{r['pairs_per_s']:.1f} | {r['failed']} | " + " | ".join(f"{r['per_kind'][k]:.2f}" for k in kinds) + " |")
    print("\njudge requests:", json.dumps(results["calibration"]["judge_requests"]))
    print("\n| sim min | sim max | accuracy (similarity) | accuracy (rules+similarity) | paraphrases kept (rules+similarity) |")
    print("|---|---|---|---|---|")
    for row in results["calibration"]["similarity_sweep"]:
        print(f"| {row['min']} | {row['max']} | {row['accuracy_similarity']:.3f} | {row['accuracy_rules_similarity']:.3f} | "
              f"{row['recall_paraphrase_rules_similarity']:.3f} |")
    print("\ndrifted rewrites rejected:", json.dumps(results["calibration"]["drift_rejected"]))
    print("\ndecontamination:", json.dumps(results["decontamination"]))


if __name__ == "__main__":
    main()

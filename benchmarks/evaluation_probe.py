"""The built-in probe's time per experiment at 400 training rows (Copa's whole train split): one command, one table.

    .venv/bin/python benchmarks/evaluation_probe.py [--rows 400] [--experiments 3]

Like a sweep's evaluation job in one process: the baseline (the original 400 rows) first, which loads the
embedding model and embeds the validation split, then `--experiments` experiments whose premise is
rewritten (a different text per experiment, so every premise is embedded anew; the other fields are the
originals, as in a rephrase experiment). Per step: seconds (embedding + logistic regression + bootstrap),
accuracy with its 95 % interval, and the paired difference against the baseline.
"""

from __future__ import annotations

import argparse
import time

from synth_assets.core.catalog import find_entry
from synth_assets.evaluation.probe import probe_correct
from synth_assets.evaluation.spec import DEFAULT_EMBEDDING_MODEL
from synth_assets.evaluation.stats import bootstrap_mean, paired_difference


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--experiments", type=int, default=3)
    args = parser.parse_args()
    entry = find_entry("Copa")
    train, validation = entry.rows("train")[: args.rows], entry.rows("validation")
    started = time.perf_counter()
    baseline = probe_correct(entry, train, validation, DEFAULT_EMBEDDING_MODEL)
    base = bootstrap_mean(baseline)
    base_s = time.perf_counter() - started
    print(f"| step | train rows | seconds | accuracy [95% CI] | Δ vs original [95% CI] |\n|---|---|---|---|---|")
    print(f"| baseline (cold: model load, validation split) | {len(train)} | {base_s:.1f} | {base.value:.3f} "
          f"[{base.low:.3f}, {base.high:.3f}] | |")
    for k in range(args.experiments):
        rewritten = [{**row, "premise": f"{row['premise']} (variant {k})"} for row in train]
        started = time.perf_counter()
        correct = probe_correct(entry, rewritten, validation, DEFAULT_EMBEDDING_MODEL)
        estimate, delta = bootstrap_mean(correct), paired_difference(correct, baseline)
        seconds = time.perf_counter() - started
        print(f"| experiment {k + 1} | {len(train)} | {seconds:.1f} | {estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}] | "
              f"{delta.value:+.3f} [{delta.low:+.3f}, {delta.high:+.3f}] |")


if __name__ == "__main__":
    main()

"""A STAND-IN for your trainer: what a `command` evaluator runs, with the same inputs and outputs as a real one.

A real fine-tune (e.g. `trainer.py --method zo --model meta-llama/Llama-3.2-1B --task Copa`) does not fit
on 2 CPU cores in minutes, so this script trains the platform's built-in probe instead (a logistic
regression over local sentence embeddings) and writes its metrics the way your trainer should:

    python stand_in_trainer.py --dataset Copa --train {train} --validation {validation} --out {metrics_json}

Reads the JSONL splits (local paths; `s3://` URIs are read with boto3), trains on `--train`, scores on
`--validation`, and writes `{"accuracy": ..., "correct": [1, 0, ...], "n": ...}` to `--out`. `correct`
(one 1/0 per validation row, in order) is optional: with it the platform's interval of the difference
against the original rows is a paired one. Test knobs: `--invocations FILE` appends one line per run,
`--fail` exits with status 3 before writing anything, `--sleep S` waits first (to test timeouts).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def read_jsonl(uri: str) -> list[dict]:
    if uri.startswith("s3://"):
        import boto3

        bucket, _, key = uri[len("s3://"):].partition("/")
        text = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    else:
        text = Path(uri).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="catalog dataset (its label and input fields)")
    parser.add_argument("--train", required=True)
    parser.add_argument("--validation", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--invocations", help="append one line per invocation to this file")
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args()
    if args.invocations:
        with open(args.invocations, "a", encoding="utf-8") as marker:
            marker.write(f"{time.time()} {args.train}\n")
    print(f"stand-in trainer: {args.dataset}, train {args.train}, validation {args.validation}")
    time.sleep(args.sleep)
    if args.fail:
        print("stand-in trainer: failing on request (--fail)", file=sys.stderr)
        return 3
    from synth_assets.core.catalog import find_entry
    from synth_assets.evaluation.probe import probe_correct

    train, validation = read_jsonl(args.train), read_jsonl(args.validation)
    correct = probe_correct(find_entry(args.dataset), train, validation, "all-MiniLM-L6-v2")
    metrics = {"accuracy": sum(correct) / len(correct), "correct": correct, "n": len(correct), "train_rows": len(train)}
    Path(args.out).write_text(json.dumps(metrics), encoding="utf-8")
    print(f"stand-in trainer: accuracy {metrics['accuracy']:.3f} on {len(correct)} validation rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A tiny `command` evaluator for the Celery test: reads the published splits (s3:// URIs) and the original rows (a local
file), "trains" the majority
label, writes its accuracy and per-row scores, and appends the Celery worker it ran on ($SYNTH_TEST_WORKER) to
`--invocations` (one line per invocation)."""

from __future__ import annotations

import argparse
import json
import os

import boto3


def read_jsonl(uri: str) -> list[dict]:
    """An `s3://` URI (the published splits) or a local path (the original rows, written next to the trainer)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://"):].partition("/")
        text = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    else:
        with open(uri, encoding="utf-8") as handle:
            text = handle.read()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--train", "--validation", "--out", "--invocations"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    with open(args.invocations, "a", encoding="utf-8") as marker:
        marker.write(f"{os.environ.get('SYNTH_TEST_WORKER', '?')}\n")
    labels = [row["label"] for row in read_jsonl(args.train)]
    majority = max(set(labels), key=labels.count)
    correct = [int(row["label"] == majority) for row in read_jsonl(args.validation)]
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump({"accuracy": sum(correct) / len(correct), "correct": correct}, out)


if __name__ == "__main__":
    main()

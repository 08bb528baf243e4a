#!/usr/bin/env bash
# Code slices of Python's own `json` package -> OpenAI Batch API input -> estimate -> (local run | submit).
# Usage: examples/openai_batch/demo.sh [local|openai]   (openai needs OPENAI_API_KEY; local needs nothing)
set -euo pipefail
MODE=${1:-local}
export SYNTH_ROOT=${SYNTH_ROOT:-$PWD/data}
OUT=${OUT:-$PWD/batch_demo}
PY=${PY:-.venv/bin/python}
CLI="${SYNTH:-.venv/bin/synth} openai-batch"
JSON_DIR=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')/json

$CLI slice "$JSON_DIR" --out "$OUT/slices.jsonl"
# review: edit "review": {"status": "rejected"} on slices you do not want, then:
$CLI build "$OUT/slices.jsonl" --out-dir "$OUT/batch" --templates examples/openai_batch/templates.yaml
$CLI estimate "$OUT"/batch/batch_input_*.jsonl

if [ "$MODE" = local ]; then
  # a small capped set for the CPU model (SmolLM2-135M): 3 functions + 1 class
  $CLI build "$OUT/slices.jsonl" --out-dir "$OUT/small" --templates examples/openai_batch/templates.yaml --max-scenario1 3 --max-scenario2 1
  # the same file format through the local model, Batch-API-format output and errors (no key)
  $CLI run-local "$OUT/small/batch_input_0001.jsonl" --out "$OUT/output.jsonl" --errors "$OUT/errors.jsonl" --n-parallel 2
  # or the whole pipeline (ledger, partition, compile) on the local backend:
  $CLI submit "$OUT"/small/batch_input_*.jsonl --dataset stdlib_json_small --backend local
  $CLI compile stdlib_json_small "$($PY -c 'import json,sys; print(json.load(sys.stdin)["partition"].split("|")[1])' < <($CLI submit "$OUT"/small/batch_input_*.jsonl --dataset stdlib_json_small --backend local --json))" \
    --backend local --out "$OUT/records.jsonl"
else
  $CLI submit "$OUT"/batch/batch_input_*.jsonl --dataset stdlib_json --max-cost 1.00
  $CLI list
  echo "then: the batchapi_sensor (Dagster) collects it, or: $CLI download BATCH_ID"
fi

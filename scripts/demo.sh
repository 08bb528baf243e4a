#!/usr/bin/env bash
# The demo: a temperature sweep on Copa (3 experiments, 20 rows, local model, best-of-4 with the default
# validators), its quality side by side, then a second batch sharing one fingerprint with the first:
# reused with no LLM call; then the batch views; it ends with the training effect of the sweep (built-in probe).
set -euo pipefail
cd "$(dirname "$0")/.."
export SYNTH_ROOT="${SYNTH_ROOT:-$PWD/data}"
synth=.venv/bin/synth
$synth run examples/demo/temperature_sweep.yaml
$synth compare batch_20241229_temperature --sort rewrite_rate
$synth run examples/demo/reuse_check.yaml
$synth batch batch_20241230_topp
$synth shared --dataset Copa
$synth lineage cost
$synth evaluations batch_20241229_temperature

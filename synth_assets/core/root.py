"""Where the store lives: `--root`, else `$SYNTH_ROOT`, else `./data`."""

import os


def default_root() -> str:
    return os.environ.get("SYNTH_ROOT") or "data"

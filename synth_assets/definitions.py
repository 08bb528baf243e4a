"""The code location `dagster dev -w workspace.yaml` loads: every domain over the store at `$SYNTH_ROOT` (default ./data)."""

from synth_assets.core.root import default_root
from synth_assets.defs import build_definitions

defs = build_definitions(default_root())

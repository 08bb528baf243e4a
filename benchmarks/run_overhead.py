"""Store listings and fingerprint computations of one 4-stage rephrase run (`synth run`, 3 rows).

Counts `LocalStore.children` calls (directory listings) and `digest` calls (one per stage fingerprint)
while the CLI registers and materializes one experiment. Runs against whatever `synth_assets` is on
the path, so the same script measures an older checkout: `PYTHONPATH=/path/to/old/checkout python
benchmarks/run_overhead.py`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "root", Path(tmp) / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.environ.update(SYNTH_ROOT=str(root), DAGSTER_HOME=str(home))
        config = Path(tmp) / "one.yaml"
        config.write_text(yaml.safe_dump({"experiment": {"batch_id": "batch_20250101_overhead"},
                                          "dataset": {"dataset_name": "Copa", "limit": 3},
                                          "generation": {"temperature": 0.7, "max_tokens": 12}}))
        from typer.testing import CliRunner

        from synth_assets.cli.main import app
        from synth_assets.core import fingerprint as fp_module
        from synth_assets.core.store_local import LocalStore

        counts: Counter[str] = Counter()
        children, digest = LocalStore.children, fp_module.digest

        def counted_children(self, prefix):
            counts["listings"] += 1
            return children(self, prefix)

        def counted_digest(value):
            counts["stage fingerprints"] += 1
            return digest(value)

        LocalStore.children = counted_children
        fp_module.digest = counted_digest
        for module in list(sys.modules.values()):  # modules that imported `digest` by name
            if getattr(module, "digest", None) is digest and module is not fp_module:
                module.digest = counted_digest
        result = CliRunner().invoke(app, ["run", str(config)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        print(f"{counts['listings']} store listings, {counts['stage fingerprints']} stage-fingerprint digests "
              f"for one registered and materialized 4-stage experiment")


if __name__ == "__main__":
    main()

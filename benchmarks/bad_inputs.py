"""Bad inputs tried / refused clearly before registration / traceback / registered: the table of
`synth_assets/testing/bad_inputs.py` through `synth register` (in-process, a fresh store per case).

Usage: PYTHONPATH=$PWD .venv/bin/python benchmarks/bad_inputs.py [--show-all]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from synth_assets.testing.bad_inputs import cases, isolated_env, summary, try_case  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-all", action="store_true", help="list every case, not only those not refused clearly")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bad_inputs_") as tmp:
        base = Path(tmp)
        os.environ.clear()
        os.environ.update(isolated_env(base))
        started, outcomes = time.perf_counter(), {}
        table = Table("case", "outcome", "what synth printed (end)")
        with console.status("trying bad inputs...") as status:
            for i, case in enumerate(cases()):
                status.update(f"{i + 1}: {case.name}")
                outcome, said = try_case(case, base / f"case_{i}")
                outcomes[case.name] = outcome
                if args.show_all or outcome != "clear":
                    table.add_row(case.name, outcome, said[-160:])
    if table.row_count:
        console.print(table)
    console.print(summary(outcomes), f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()

"""Launch the runs of a sweep through Dagster, as the run workers of a deployment would:
`python -m synth_assets.testing.sweep_driver CONFIG... --out RESULT.json`.

Registers the experiments (store at `$SYNTH_ROOT`, lineage at `$SYNTH_LINEAGE`), adds their partitions
to the instance at `$DAGSTER_HOME`, and executes one run of the recipe job per incomplete
experiment, all at once, each in a process forked for it (`execute_job` of the reconstructable job of
`synth_assets.definitions`, with the executor `$SYNTH_EXECUTOR` selects: steps go to the Celery
workers; Dagster's run setup is not thread-safe). Writes per experiment the run id, success and first
error, and the wall time of the runs; with `--evaluate`, then one run of the evaluation job per experiment.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

from dagster import DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository

from synth_assets.recipes.registry import load_experiments, register
from synth_assets.core.lineage import Lineage
from synth_assets.cli.materialize import first_error
from synth_assets.core.registry import Registration
from synth_assets.core.root import default_root, lineage_path
from synth_assets.core.run_tags import registration_tags
from synth_assets.core.stores import open_store
from synth_assets.lib.partitions import add_partitions, partition_key
from synth_assets.lib.run_requests import recipe_job_name

REPO = Path(__file__).resolve().parents[2]


def run_one(reg: Registration, out: Path, job: str | None = None) -> None:
    """One run of the registration's recipe job (or `job`) for its partition; its outcome as JSON in `out`."""
    repository = ReconstructableRepository.for_module("synth_assets.definitions", "defs", working_directory=str(REPO))
    recon = repository.get_reconstructable_job(job or recipe_job_name(reg.recipe))
    key = partition_key(reg.record)
    tags = {**recon.get_definition().get_tags_for_partition_key(str(key), None), **registration_tags(reg.batch_id, reg.fingerprint)}
    with DagsterInstance.get() as instance, execute_job(recon, instance=instance, tags=tags) as result:
        outcome = {"fingerprint": reg.fingerprint, "name": reg.name, "run_id": result.run_id, "success": result.success,
                   "error": None if result.success else first_error(result)}
    out.write_text(json.dumps(outcome))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--evaluate", action="store_true", help="then run the evaluation job for every experiment (one run each)")
    args = parser.parse_args()
    root = default_root()
    store, lineage = open_store(root), Lineage(lineage_path(root))
    experiments = [exp for path in args.configs for exp in load_experiments(path, store.root_uri)]
    with lineage.session():
        registrations = [register(exp, store, lineage) for exp in experiments]
    todo = list({reg.fingerprint: reg for reg in registrations if not reg.complete}.values())
    with DagsterInstance.get() as instance:
        add_partitions(instance, [reg.record for reg in registrations])
    started = time.monotonic()
    runs = _run_all(todo, f"{args.out}.run")
    wall_s = time.monotonic() - started
    result: dict = {"runs": runs, "wall_s": wall_s}
    if args.evaluate:
        from synth_assets.defs.evaluations import EVALUATION_JOB

        evaluated = list({reg.fingerprint: reg for reg in registrations}.values())
        result["evaluations"] = _run_all(evaluated, f"{args.out}.evaluation", EVALUATION_JOB)
    Path(args.out).write_text(json.dumps(result, indent=2))


def _run_all(registrations: list[Registration], prefix: str, job: str | None = None) -> list[dict]:
    """One run per registration, all at once, each in a forked process; their outcomes."""
    outs = [Path(f"{prefix}.{i}") for i in range(len(registrations))]
    fork = multiprocessing.get_context("fork")
    processes = [fork.Process(target=run_one, args=(reg, out, job)) for reg, out in zip(registrations, outs)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return [json.loads(out.read_text()) if out.is_file() else {"success": False, "error": f"run process exited with {p.exitcode}"}
            for out, p in zip(outs, processes)]


if __name__ == "__main__":
    main()

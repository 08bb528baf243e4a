"""OpenAI Batch API pipeline: code slices -> batch input files -> submission (idempotent, ledgered) ->
monitoring -> download / partial resubmission -> compiled training records in the shared store.

Modules: `slicer` (ast slices of a Python tree), `build` (slices -> batch input JSONL, validation),
`results` (the one parser of batch output / error files, API or local), `client` (the official
`openai` SDK or a local executor behind one small interface), `ledger` (the job ledger: SQLite under
`{state dir}/.synth/batch_api/`, or the shared lineage's PostgreSQL with `SYNTH_LINEAGE`; `kept_files`: inputs
kept where every machine reads them), `pipeline` (submit / refresh / download / resubmit / compile),
`local_run` (run a batch input file through the LLM layer), `cost` (estimates), `stages` (the recipe: its Dagster
assets, jobs and sensor are built by `synth_assets.defs` (with the builders in `synth_assets.lib`) from its stages, `polling` and `settings`), `cli`
(`synth openai-batch ...`). Stored names keep the recipe's registered name `batchapi` (assets, partitions,
fingerprints) and the ledger's `.synth/batch_api/` folder.
"""

from synth_assets.recipes.openai_batch.errors import BatchAPIError, InputError

__all__ = ["BatchAPIError", "InputError"]
from synth_assets.recipes.openai_batch.stages import RECIPE  # noqa: E402  (listed in recipes/installed.py)

__all__ += ["RECIPE"]

"""Exporting experiments, batches and curation outputs as datasets with a dataset card (`synth export`).

`export_target(store, target, out, fmt, lineage=..., single=..., force=...)` writes a Hugging Face
`datasets` folder, Parquet or JSONL files per split and a `README.md` card (`card`), atomically;
`push_to_hub(folder, repo_id)` uploads the result (`hub`).
"""

from synth_assets.export.collect import ExportError
from synth_assets.export.hub import push_to_hub
from synth_assets.export.run import ExportResult, export_target
from synth_assets.export.write import FORMATS

__all__ = ["FORMATS", "ExportError", "ExportResult", "export_target", "push_to_hub"]

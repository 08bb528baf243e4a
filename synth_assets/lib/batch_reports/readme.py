"""The `README.md` the platform writes into a batch's folder: purpose, experiments, quality and the training
effect table (what the first seed's team wrote by hand), rewritten whenever the batch's view changes."""

from __future__ import annotations

from synth_assets.core.store import Store
from synth_assets.lib.batch_reports.effect import effect_markdown
from synth_assets.lib.batch_reports.view import BatchView
from synth_assets.quality.figures import notes_markdown


README = "README.md"


def batch_readme(view: BatchView) -> str:
    from synth_assets.lib.batch_reports.metadata import experiments_markdown, quality_markdown

    lines = [f"# {view.batch_id}", ""]
    if view.purpose:
        lines += [f"Purpose: {view.purpose}", ""]
    if view.description:
        lines += [view.description, ""]
    lines += ["## Experiments", "", experiments_markdown(view), "", "## Quality", "", quality_markdown(view), "", notes_markdown().rstrip("\n"), ""]
    effect = effect_markdown(view)
    lines += ["## Training effect", "", effect or "_not evaluated yet (`evaluation:` in the experiment config)_", "",
              "_Written by synth-assets from lineage; edits are overwritten._", ""]
    return "\n".join(lines)


def write_batch_readme(store: Store, view: BatchView) -> None:
    """Only into a batch that has views (a batch folder is made by its views, never by its README)."""
    if store.views(view.batch_id):
        store.write_bytes(f"{view.batch_id}/{README}", batch_readme(view).encode())

"""Batch views of the store: `{root}/batch_{...}/{Dataset}/{semantic_name}` points at one shared experiment.

A mixin of `Store` (core/store.py): it builds on the store's keys (`view_key`, `experiment_key`), its view primitives
(`read_view`, `write_view`) and its object operations (`children`, `delete`, `fingerprint_at`).
"""

from __future__ import annotations

import abc

from synth_assets.core.batch_ids import is_batch_id


class BatchViews(abc.ABC):
    """Create, list and remove batch views; never touches the shared data they point at."""

    def link(self, batch_id: str, dataset: str, name: str) -> str:
        """Create (idempotently) the batch view of a shared experiment; return its key."""
        key = self.view_key(batch_id, dataset, name)
        target = self.experiment_key(dataset, name)
        if self.read_view(key) != target:
            self.write_view(key, target, self.fingerprint_at(target) or "")
        return key

    def batches(self) -> list[str]:
        return sorted(n for n in self.children("") if is_batch_id(n))

    def views(self, batch_id: str) -> list[tuple[str, str, str]]:
        """(dataset, name, view key) of every view in a batch."""
        out = []
        for dataset in sorted(self.children(batch_id)):
            for name in sorted(self.children(f"{batch_id}/{dataset}")):
                key = self.view_key(batch_id, dataset, name)
                if self.read_view(key) is not None:
                    out.append((dataset, name, key))
        return out

    def unlink(self, batch_id: str, dataset: str | None = None, name: str | None = None) -> list[str]:
        """Remove batch views (never the shared data)."""
        removed = [key for ds, n, key in self.views(batch_id) if dataset in (None, ds) and name in (None, n)]
        for key in removed:
            self.delete(key)
        if not self.views(batch_id):
            self.delete(f"{batch_id}/README.md")  # the platform's batch README goes with the batch's last view
        self._prune(batch_id)
        return removed

    def _prune(self, batch_id: str) -> None:
        """Drop empty batch folders (a no-op where folders do not exist, as on S3)."""

    def batch_link(self, batch_id: str) -> str | None:
        """Where a batch folder that is itself a symlink points (local stores); None for a real batch."""
        return None

    def batches_linking(self, dataset: str, name: str) -> list[str]:
        target = self.experiment_key(dataset, name)
        return [b for b in self.batches() if self.read_view(self.view_key(b, dataset, name)) == target]

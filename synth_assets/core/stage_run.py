"""One stage of one registration in one run, on the store's side: claim, reuse, write, publish.

Whatever runs the stage (the Dagster stage assets in `lib/stage_assets.py`, or a plain script), the store side
is the same and lives here:

- the claim `.synth/leases/{stage key}/{n}` is taken (one worker per stage fingerprint across processes and
  machines; a waiter reuses the result, or takes over an expired lease); a stage `synth regenerate` rebuilds is
  never taken as done;
- a stage complete in the store is reused; else the stage's rows are computed (a callback) and, once `accept`ed
  (the failure policy), written atomically to `_stages/{dataset}/{stage}/{fp16}/` (marker last) while the claim is
  held, beside the current folder when rebuilt (`pending_stages`);
- the publishing stage writes `_shared/{dataset}/{name}/` once: the recipe's files (a callback), the metadata,
  config and README (`publish.write_experiment_files`); the blocking checks (a callback) see it before it is
  complete, and one that fails keeps it without its marker (a rebuild keeps the old data); then the pending stages
  of a regenerate settle, lineage records the quality figures, and a complete publish clears the failure, marks the
  experiment complete and links the view of every batch using it.

The stage function, the recipe's publish and the checks come in as callables: this module knows nothing of recipes
or Dagster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from synth_assets.core.faults import kill_point
from synth_assets.core.lineage import Lineage
from synth_assets.core.leases import Lease
from synth_assets.core.pending_stages import CONTENT_FIELD, contents, pending_key, settle
from synth_assets.core.publish import link_views, write_experiment_files
from synth_assets.core.store import DirWriter, Rejected, Store, parse_jsonl

Rows = list[dict[str, Any]]


class Log(Protocol):
    def info(self, msg: str) -> Any: ...
    def warning(self, msg: str) -> Any: ...
    def error(self, msg: str) -> Any: ...


class PublishedFiles(Protocol):
    """What a recipe's publish wrote (`recipes.base.Published`)."""

    data_file: str
    rows: dict[str, int]
    summary: dict[str, Any]


@dataclass
class StageOutcome:
    """Where a stage's data file is, and whether this run made it."""

    reused: bool
    key: str  # the data file's key in the store
    rows: Rows | None = None  # the rows this run made or read while publishing (None: read them from `key` when needed)
    content_hash: str | None = None


@dataclass
class PublishOutcome(StageOutcome):
    summary: dict[str, Any] = field(default_factory=dict)  # the published folder's summary (empty: reused)
    rejected: str = ""  # the blocking checks that failed ('': none, or reused)
    batches: list[str] = field(default_factory=list)  # the batches whose view links the experiment (complete publishes)


class StoredStage:
    """One stage of one registration as one run claims, reuses, writes or publishes it in the store."""

    def __init__(self, store: Store, lineage: Lineage, record: dict[str, Any], stage: str, *, rebuilt: tuple[str, ...] = (),
                 log: Log):
        self.store, self.lineage, self.record, self.stage, self.rebuilt, self.log = store, lineage, record, stage, rebuilt, log

    @property
    def rebuild(self) -> bool:
        """`synth regenerate` rebuilds this stage (copy-on-write) instead of reusing it."""
        return self.stage in self.rebuilt

    @property
    def stage_key(self) -> str:
        return self.store.stage_key(self.record["dataset"], self.stage, self.record["stages"][self.stage])

    def _claim(self, key: str, done: Callable[[], bool]) -> Lease | None:
        return self.store.claim(key, lambda: not self.rebuild and done(), on_wait=self.log.info)

    def compute(self, compute: Callable[[], Rows | None], *, accept: Callable[[Rows], dict[str, bytes]], meta: dict[str, Any],
                waits: bool = False) -> StageOutcome | None:
        """Reuse the stage from the store, or compute it and store it while holding its claim (None: a waiting stage has
        nothing to store yet). `accept(rows)` raises to store nothing (the failure policy) or returns the side files."""
        dataset, stage_fp, key = self.record["dataset"], self.record["stages"][self.stage], self.stage_key
        lease = self._claim(key, lambda: self.store.stage_complete(dataset, self.stage, stage_fp))
        if lease is None:
            self.log.info(f"stage {self.stage} {stage_fp[:12]} is in the store: reused, no LLM call")
            return StageOutcome(reused=True, key=self.store.files_key_of(key) + "/data.jsonl")
        with lease:
            self.store.clear_leftovers(key)
            rows = compute()
            if rows is None and waits:
                return None
            extra_files = accept(rows)
            kill_point(f"mid_{self.stage}")
            data_key, content_hash = self.store.write_stage(dataset, self.stage, stage_fp, rows, meta, extra_files,
                                                            at=pending_key(key) if self.rebuild else None)
        return StageOutcome(reused=False, key=data_key, rows=rows, content_hash=content_hash)

    def publish(self, build: Callable[[], Rows], write: Callable[[Rows, DirWriter], PublishedFiles], *,
                usage: dict[str, Any], readme_lines: Callable[[dict[str, Any], dict[str, Any]], list[str]],
                blocking_failures: Callable[[dict[str, Any], Rows], str]) -> PublishOutcome:
        """Write `_shared/{dataset}/{name}/` once (claimed; copy-on-write when regenerating), then link every batch's view.

        `build()` makes the rows to publish, `write(rows, files)` writes the recipe's files, `usage` is the experiment's
        LLM usage kept in the summary, `blocking_failures(summary, published rows)` names the blocking checks that fail
        ('' when none do)."""
        store, record = self.store, self.record
        dataset, name, fingerprint = record["dataset"], record["semantic_name"], record["fingerprint"]
        prefix = store.experiment_key(dataset, name)
        lease = self._claim(prefix, lambda: store.is_complete(dataset, name, fingerprint))
        out = PublishOutcome(reused=lease is None, key="")
        if lease is not None:
            with lease:
                store.clear_leftovers(prefix)
                rows = build()
                try:
                    with store.building(prefix, fingerprint, replace=self.rebuild) as files:
                        published = write(rows, files)
                        out.summary = {**published.summary, "data_file": published.data_file, "rows": published.rows, **usage,
                                       CONTENT_FIELD: contents(store, record, self.rebuilt, without=self.stage)}
                        write_experiment_files(files, record, out.summary, readme_lines(record, out.summary))
                        kill_point("mid_publish")
                        out.rows = parse_jsonl(files.read_bytes(published.data_file))
                        out.rejected = blocking_failures(out.summary, out.rows)
                        if out.rejected:
                            raise Rejected(out.rejected)
                    kill_point("after_shared_swap")
                except Rejected:
                    pass
                if self.rebuilt:
                    settle(store, record)  # the rebuilt stages the new folder was made from become current (the others go)
            if out.summary.get("quality"):  # recorded once the folder is built (also when a blocking check rejected it: why)
                self.lineage.record_quality(fingerprint=fingerprint, dataset=dataset, metrics=out.summary["quality"])
        if out.rejected:  # never complete, no view
            out.key = f"{prefix}/{out.summary['data_file']}"
            return out
        out.key = store.published_data_file(dataset, name)
        store.clear_failure(fingerprint)
        out.batches = link_views(store, self.lineage, record)
        return out

    def record_failure(self, run_id: str, error: str) -> None:
        """The experiment shows as failed in this stage (store, batch views) until a run completes it. A store that cannot
        take the status (disk full) gets a warning: the run's own error is the one to report."""
        try:
            self.store.record_failure(self.record["fingerprint"], run_id=run_id, stage=self.stage, error=error)
        except OSError as exc:
            self.log.warning(f"failure of {self.record['semantic_name']} not recorded in the store: {exc}")

"""`synth batches`, `batch`, `shared`, `compare`, `data-paths`, `resolve`: looking at the store."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import typer
import yaml

from synth_assets.cli.common import JsonOption, console, err_console, fail, lineage, print_json, print_table, root, store, when
from synth_assets.cli.materialize import dagster_instance
from synth_assets.core.fingerprint import short
from synth_assets.core.legacy import has_data, purpose_and_description
from synth_assets.core.legacy_tree import IMPORT_SCHEME
from synth_assets.cli.compare import cell
from synth_assets.core.parameters import flatten
from synth_assets.core.splits import split_keys
from synth_assets.quality.figures import shown_figure
from synth_assets.quality.metrics import CORRECTNESS_FIGURES

HEADLINE = ("rewrite_rate", "estimated_correct_rate", "reviewed_precision")  # acceptance beside correctness, always
Verbose = typer.Option(False, "--verbose", "-v", help="Show parameters and paths too.")


def batches_command(verbose: bool = Verbose, as_json: bool = JsonOption) -> None:
    """Every batch with its experiment counts (new / reused) and LLM cost."""
    rows, s = lineage().batches(), store()
    folders = set(s.batches())
    for r in rows:  # the views users open: a batch whose folder is missing (or lacks views) shows it
        r["views"] = len(s.views(r["batch_id"])) if r["batch_id"] in folders else 0
    if as_json:
        return print_json(rows)
    columns = ["batch", "purpose", "created", "experiments", "views", "new", "reused", "cost $"]
    print_table("Batches", columns + (["description"] if verbose else []), (
        [r["batch_id"], r["purpose"], when(r["created_at"]), r["experiments"], r["views"], r["new"], r["reused"],
         f"{r['cost_usd']:.4f}"] + ([r["description"]] if verbose else []) for r in rows))


def batch_command(batch_id: str = typer.Argument(..., help="Batch id, e.g. batch_20241229_temperature."),
                  verbose: bool = Verbose, as_json: bool = JsonOption) -> None:
    """One batch, per dataset: each experiment and whether its data is reused."""
    s, members = store(), lineage().batch_members(batch_id)
    if not members:
        raise fail(f"no batch {batch_id!r} (see `synth batches`)")
    for m in members:
        published = s.is_complete(m["dataset"], m["semantic_name"], m["fingerprint"]) or m["status"] == "complete"
        m["viewed"] = s.read_view(s.view_key(batch_id, m["dataset"], m["semantic_name"])) is not None
        m["complete"] = published and m["viewed"]  # complete in this batch: its data published and its view there
        m["published"] = published
    if any(not m["complete"] and m["scheme"] != IMPORT_SCHEME for m in members):
        with contextlib.suppress(OSError):  # (a read-only store: the runs stay as they are)
            dagster_instance(root())  # opening it marks runs killed with their process failed: they show `failed`, not `pending`
    for m in members:
        m["failure"] = None if m["complete"] else s.failure(m["fingerprint"])
        m["state"] = _member_state(m)
    figures = lineage().quality([m["fingerprint"] for m in members])
    for m in members:
        m["quality"] = {k: figures[m["fingerprint"]].get(k) for k in ("rewrite_rate", *CORRECTNESS_FIGURES)} \
            if m["fingerprint"] in figures else None
    if as_json:
        return print_json(members)
    console.print(f"[bold]{batch_id}[/]")
    for dataset in dict.fromkeys(m["dataset"] for m in members):
        console.print(f"\n[bold]{dataset}[/]")
        for m in (m for m in members if m["dataset"] == dataset):
            reuse = f"Yes (origin batch: {m['origin_batch']})" if m["reused"] else "No (new)"
            console.print(f"  {m['semantic_name']}  [dim]{short(m['fingerprint'])}[/]  Data reuse: {reuse}  \\[{m['state']}]")
            if m["quality"]:
                console.print("    " + "  ".join(f"{k} {shown_figure(m['quality'], k, 2)}" for k in HEADLINE)
                              + f" (n={m['quality']['reviewed_n'] or 0})", markup=False)
            if m["failure"]:
                f = m["failure"]
                console.print(f"    run {f['run_id']} failed in stage {f['stage']}: {f['error'].splitlines()[0][:200]}", markup=False)
            if verbose:
                console.print(f"    view:   {m['view_path']}\n    shared: {m['shared_path']}")
                record = _registration(m["fingerprint"])
                if record:
                    purpose, description = purpose_and_description(record)
                    console.print(f"    purpose: {purpose or ''}  description: {description or ''}", markup=False)
                    generation = record["params"].get("generation", record["params"])
                    console.print(f"    params: {json.dumps(generation, default=str)}", markup=False)
                    if record["params"].get("validation"):
                        console.print(f"    validation: {json.dumps(record['params']['validation'], default=str)}", markup=False)


def _member_state(m: dict[str, Any]) -> str:
    """What a batch member is: complete, failed, pending, no data (imported, never generated) or published without its view."""
    if m["complete"]:
        return "complete"
    if m["failure"]:
        return "failed"
    if m["published"]:
        return "no view"  # the data exists but this batch's view does not (removed, or its link failed)
    # an imported legacy experiment is never generated later: not complete means it has no data
    return "no data" if m["scheme"] == IMPORT_SCHEME else "pending"


def _registration(fingerprint: str) -> dict[str, Any] | None:
    try:
        return store().registration(fingerprint)
    except KeyError:
        return None


def shared_command(dataset: str | None = typer.Option(None, "--dataset", "-d"), verbose: bool = Verbose,
                   as_json: bool = JsonOption) -> None:
    """Physical experiments in `_shared`: origin batch and the batches that use each."""
    s, lin = store(), lineage()
    out = []
    for ds, name, fp in s.complete_experiments():
        if dataset and ds != dataset:
            continue
        record = s.record_by_name(ds, name)
        full = record["fingerprint"] if record else fp
        origin = lin.origin(full) or {}
        out.append({
            "dataset": ds, "semantic_name": name, "fingerprint": full, "path": s.experiment_uri(ds, name),
            "origin_batch": origin.get("batch_id"), "created_at": origin.get("created_at"),
            "batches": [b["batch_id"] for b in lin.batches_using(full)],
            "state": "complete" if record is None or has_data(s, record) else "no data",
        })
        if verbose and record:
            out[-1]["purpose"], out[-1]["description"] = purpose_and_description(record)
            out[-1]["params"] = record["params"]
    if as_json:
        return print_json(out)
    columns = ["dataset", "experiment", "fingerprint", "state", "origin batch", "created", "used by"]
    print_table("Shared experiments", columns + (["purpose", "parameters", "path"] if verbose else []), (
        [o["dataset"], o["semantic_name"], short(o["fingerprint"]), o["state"], o["origin_batch"], when(o["created_at"]),
         ", ".join(o["batches"])]
        + ([o.get("purpose"), _parameters(o.get("params")), o["path"]] if verbose else []) for o in out))


def _parameters(params: dict[str, Any] | None) -> str:
    """Generation and validation parameters, one `key=value` a line (long texts cut)."""
    sections = {k: (params or {}).get(k) for k in ("generation", "validation")}
    flat = flatten({k: v for k, v in sections.items() if v})
    return "\n".join(f"{k.replace('generation.', '').replace('validation.', 'val.')}={cell(v, 40)}" for k, v in flat.items())


def data_paths_command(dataset: str | None = typer.Option(None, "--dataset", "-d"),
                       fingerprints: list[str] = typer.Option([], "--fingerprint", "-F",
                                                              help="Only these experiments (fingerprint, prefix, legacy id or path)."),
                       batch: str | None = typer.Option(None, "--batch", "-b", help="Paths through this batch's views."),
                       fmt: str = typer.Option("yaml", "--format", "-f", help="yaml or json")) -> None:
    """Paths of each experiment's split files, ready to paste into a training config."""
    if fmt not in ("yaml", "json"):
        raise fail(f"--format must be yaml or json, not {fmt!r}", 2)
    if not dataset and not fingerprints:
        raise fail("give --dataset or --fingerprint", 2)
    s = store()
    try:
        chosen = {(r["dataset"], r["semantic_name"]) for r in map(s.find, fingerprints)}
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    out: dict[str, Any] = {dataset: {}} if dataset else {}
    for ds, name, _ in s.complete_experiments():
        if (dataset and ds != dataset) or (chosen and (ds, name) not in chosen) or (
                batch and s.read_view(s.view_key(batch, ds, name)) != s.experiment_key(ds, name)):
            continue
        splits = split_keys(s, ds, name)
        if not splits:
            err_console.print(f"[yellow]warning:[/] {ds}/{name} has no split files (no data); skipped")
            continue
        # locally a path through the batch's symlink; on S3 (no symlinks) the shared object itself
        base = s.view_uri(batch, ds, name) if batch and s.symlink_views else s.uri(s.files_key(ds, name))
        prefix = len(s.files_key(ds, name))
        out.setdefault(ds, {})[name] = {split: base + key[prefix:] for split, key in splits.items()}
    if fmt == "json":
        return print_json(out)
    typer.echo(yaml.safe_dump(out, sort_keys=False), nl=False)


def resolve_command(target: str = typer.Argument(..., help="Batch path, shared path or fingerprint."),
                    as_json: bool = JsonOption) -> None:
    """Batch path <-> shared path <-> fingerprint."""
    s, lin = store(), lineage()
    try:
        record = s.find(target)
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    ds, name = record["dataset"], record["semantic_name"]
    out = {
        "fingerprint": record["fingerprint"],
        "scheme": record["scheme"],
        "legacy_fingerprint": record.get("legacy_fingerprint"),
        "dataset": ds,
        "semantic_name": name,
        "shared_path": s.experiment_uri(ds, name),
        "complete": s.record_complete(record) and has_data(s, record),
        "batch_paths": [s.view_uri(b, ds, name) for b in s.batches_linking(ds, name)],
        "origin_batch": (lin.origin(record["fingerprint"]) or {}).get("batch_id", record.get("origin_batch")),
    }
    if as_json:
        return print_json(out)
    print_table("Resolved", ["field", "value"], ([k, "\n".join(v) if isinstance(v, list) else v] for k, v in out.items()))

"""`synth batches`, `batch`, `shared`, `compare`, `data-paths`, `resolve`: looking at the store."""

from __future__ import annotations

import json
from typing import Any

import typer
import yaml

from synth_assets.cli.common import JsonOption, console, fail, lineage, print_json, print_table, store, when
from synth_assets.core.fingerprint import short

Verbose = typer.Option(False, "--verbose", "-v", help="Show parameters and paths too.")


def batches_command(verbose: bool = Verbose, as_json: bool = JsonOption) -> None:
    """Every batch with its experiment counts (new / reused) and LLM cost."""
    rows = lineage().batches()
    if as_json:
        return print_json(rows)
    columns = ["batch", "purpose", "created", "experiments", "new", "reused", "cost $"]
    print_table("Batches", columns + (["description"] if verbose else []), (
        [r["batch_id"], r["purpose"], when(r["created_at"]), r["experiments"], r["new"], r["reused"], f"{r['cost_usd']:.4f}"]
        + ([r["description"]] if verbose else []) for r in rows))


def batch_command(batch_id: str = typer.Argument(..., help="Batch id, e.g. batch_20241229_temperature."),
                  verbose: bool = Verbose, as_json: bool = JsonOption) -> None:
    """One batch, per dataset: each experiment and whether its data is reused."""
    s, members = store(), lineage().batch_members(batch_id)
    if not members:
        raise fail(f"no batch {batch_id!r} (see `synth batches`)")
    for m in members:
        m["complete"] = s.is_complete(m["dataset"], m["semantic_name"], m["fingerprint"]) or m["status"] == "complete"
    if as_json:
        return print_json(members)
    console.print(f"[bold]{batch_id}[/]")
    for dataset in dict.fromkeys(m["dataset"] for m in members):
        console.print(f"\n[bold]{dataset}[/]")
        for m in (m for m in members if m["dataset"] == dataset):
            reuse = f"Yes (origin batch: {m['origin_batch']})" if m["reused"] else "No (new)"
            state = "complete" if m["complete"] else "pending"
            console.print(f"  {m['semantic_name']}  [dim]{short(m['fingerprint'])}[/]  Data reuse: {reuse}  \\[{state}]")
            if verbose:
                console.print(f"    view:   {m['view_path']}\n    shared: {m['shared_path']}")
                record = _registration(m["fingerprint"])
                if record:
                    console.print(f"    params: {json.dumps(record['params'].get('generation', record['params']), default=str)}")


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
        })
    if as_json:
        return print_json(out)
    columns = ["dataset", "experiment", "fingerprint", "origin batch", "created", "used by"]
    print_table("Shared experiments", columns + (["path"] if verbose else []), (
        [o["dataset"], o["semantic_name"], short(o["fingerprint"]), o["origin_batch"], when(o["created_at"]), ", ".join(o["batches"])]
        + ([o["path"]] if verbose else []) for o in out))


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, item, out)
    else:
        out[prefix] = value
    return out


def compare_command(a: str = typer.Argument(..., help="Batch path, shared path or fingerprint."),
                    b: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """Same and different parameters of two experiments."""
    s = store()
    try:
        left, right = s.find(a), s.find(b)
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    fa, fb = _flatten("", left["params"], {}), _flatten("", right["params"], {})
    keys = sorted(set(fa) | set(fb))
    different = {k: [fa.get(k), fb.get(k)] for k in keys if fa.get(k) != fb.get(k)}
    same = {k: fa[k] for k in keys if k not in different}
    if as_json:
        return print_json({"a": left["fingerprint"], "b": right["fingerprint"], "same": same, "different": different})
    console.print(f"A = {left['dataset']}/{left['semantic_name']} ({short(left['fingerprint'])})")
    console.print(f"B = {right['dataset']}/{right['semantic_name']} ({short(right['fingerprint'])})")
    print_table("Different", ["parameter", "A", "B"], ([k, _cell(v[0]), _cell(v[1])] for k, v in different.items()))
    print_table("Same", ["parameter", "value"], ([k, _cell(v)] for k, v in same.items()))


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else text[:79] + "…"


def data_paths_command(dataset: str = typer.Option(..., "--dataset", "-d"),
                       batch: str | None = typer.Option(None, "--batch", "-b", help="Paths through this batch's views."),
                       fmt: str = typer.Option("yaml", "--format", "-f", help="yaml or json")) -> None:
    """Paths of each experiment's split files, ready to paste into a training config."""
    s = store()
    out: dict[str, Any] = {}
    for ds, name, _ in s.complete_experiments():
        if ds != dataset or (batch and s.read_view(s.view_key(batch, ds, name)) != s.experiment_key(ds, name)):
            continue
        # locally a path through the batch's symlink; on S3 (no symlinks) the shared object itself
        base = s.view_uri(batch, ds, name) if batch and s.symlink_views else s.experiment_uri(ds, name)
        files = [f for f in s.children(f"{s.experiment_key(ds, name)}/{ds}") if f.startswith(f"{ds.lower()}_") and f.endswith(".jsonl")]
        out[name] = {f[len(ds) + 1:-len(".jsonl")]: f"{base}/{ds}/{f}" for f in files}
    if fmt == "json":
        return print_json({dataset: out})
    if fmt != "yaml":
        raise fail(f"--format must be yaml or json, not {fmt!r}", 2)
    typer.echo(yaml.safe_dump({dataset: out}, sort_keys=False), nl=False)


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
        "complete": s.record_complete(record),
        "batch_paths": [s.view_uri(b, ds, name) for b in s.batches_linking(ds, name)],
        "origin_batch": (lin.origin(record["fingerprint"]) or {}).get("batch_id", record.get("origin_batch")),
    }
    if as_json:
        return print_json(out)
    print_table("Resolved", ["field", "value"], ([k, "\n".join(v) if isinstance(v, list) else v] for k, v in out.items()))

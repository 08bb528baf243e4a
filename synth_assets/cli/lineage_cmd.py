"""`synth lineage ...`: questions answered from the lineage tables (a local DuckDB file or DuckLake),
and moving a local lineage into DuckLake."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import typer

from synth_assets.cli.common import JsonOption, console, fail, lineage, print_json, print_table, root, when
from synth_assets.core.fingerprint import short
from synth_assets.core.lineage import Lineage, is_ducklake_url
from synth_assets.core.root import lineage_file, lineage_url

app = typer.Typer(no_args_is_help=True, help="Where data came from, who reuses it, what it cost.")


@app.command("origin")
def origin(fingerprint: str, as_json: bool = JsonOption) -> None:
    """Where fingerprint X was first generated."""
    found = lineage().origin(fingerprint)
    if found is None:
        raise fail(f"no experiment with fingerprint {fingerprint!r}")
    if as_json:
        return print_json(found)
    print_table(f"Origin of {short(found['fingerprint'])}", ["field", "value"], ([k, when(v)] for k, v in found.items()))


@app.command("batches")
def batches(fingerprint: str, as_json: bool = JsonOption) -> None:
    """Which batches use fingerprint X."""
    rows = lineage().batches_using(fingerprint)
    if as_json:
        return print_json(rows)
    print_table(f"Batches using {fingerprint}", ["batch", "dataset", "reused", "added", "view"],
                ([r["batch_id"], r["dataset"], r["reused"], when(r["added_at"]), r["view_path"]] for r in rows))


@app.command("file")
def file(path: str, as_json: bool = JsonOption) -> None:
    """What a file was made from: path -> upstream chain -> config."""
    steps = lineage().provenance(path)
    if not steps:
        raise fail(f"no materialization recorded for {path}")
    if as_json:
        return print_json(steps)
    for step in steps:
        if step["kind"] == "materialization":
            console.print(f"[bold]{step['asset']}[/] [{step['partition_key']}] run {step['run_id'][:8]} "
                          f"rows={step['rows']} reused={step['reused']}\n  {step['path']}")
        else:
            console.print(f"[bold]experiment {short(step['fingerprint'])}[/] origin {step['origin_batch']}\n{step['config_yaml']}")


@app.command("cost")
def cost(as_json: bool = JsonOption) -> None:
    """Totals of LLM usage and cost per batch."""
    rows = lineage().cost_by_batch()
    if as_json:
        return print_json(rows)
    print_table("Cost per batch", ["batch", "requests", "cache hits", "failures", "prompt tok", "completion tok", "cost $"],
                ([r["batch_id"], r["requests"], r["cache_hits"], r["failures"], r["prompt_tokens"], r["completion_tokens"],
                  f"{r['cost_usd']:.4f}"] for r in rows))


@app.command("sql")
def sql(query: str, as_json: bool = JsonOption) -> None:
    """Ad-hoc read-only SQL over the lineage tables."""
    try:
        rows = lineage().query(query)
    except duckdb.Error as exc:
        raise fail(f"query failed: {str(exc).splitlines()[0]}", 2) from None
    if as_json or not rows:
        return print_json(rows)
    print_table("Result", list(rows[0]), ([when(v) if v is not None else "" for v in r.values()] for r in rows))


@app.command("migrate")
def migrate(
    to: str = typer.Option(None, "--to", help="DuckLake URL (ducklake:postgres:...); default $SYNTH_LINEAGE."),
    source: Path = typer.Option(None, "--from", help="Local lineage file; default the store's lineage.duckdb."),
    data: str = typer.Option(None, "--data", help="Data path of a new lake (s3://... or a folder); "
                                                  "default $SYNTH_LINEAGE_DATA."),
    as_json: bool = JsonOption,
) -> None:
    """Copy a local lineage file into a DuckLake lineage (idempotent; counts per table)."""
    from synth_assets.core.lineage.migrate import migrate as copy_lineage

    target = to or lineage_url()
    if not target or not is_ducklake_url(target):
        raise fail("give --to ducklake:postgres:<connection string> (or set SYNTH_LINEAGE)")
    source = source or lineage_file(root())
    try:
        counts = copy_lineage(source, Lineage(target, data_path=data))
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        return print_json([dataclasses.asdict(c) for c in counts])
    print_table(f"Migrated {source}", ["table", "rows in file", "copied", "rows in lake"],
                ([c.table, c.source_rows, c.copied, c.target_rows] for c in counts))


@app.command("maintain")
def maintain(
    compact: bool = typer.Option(True, "--compact/--flush-only",
                                 help="Also merge small files and expire old snapshots."),
    as_json: bool = JsonOption,
) -> None:
    """DuckLake: flush inlined rows to Parquet, merge small files, expire old snapshots."""
    lin = lineage()
    if not lin.is_ducklake:
        raise fail("the lineage is a local DuckDB file: nothing to maintain (set SYNTH_LINEAGE for DuckLake)")
    files = lin.maintain(compact=compact)
    if as_json:
        return print_json(files)
    print_table("Parquet files per table", ["table", "files"], files.items())

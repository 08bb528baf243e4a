"""`synth lineage ...`: questions answered from the DuckDB lineage tables."""

from __future__ import annotations

import typer

from synth_assets.cli.common import JsonOption, console, fail, lineage, print_json, print_table, when
from synth_assets.core.fingerprint import short

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
    rows = lineage().query(query)
    if as_json or not rows:
        return print_json(rows)
    print_table("Result", list(rows[0]), ([when(v) if v is not None else "" for v in r.values()] for r in rows))

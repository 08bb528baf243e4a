"""`synth export`: an experiment, a batch or a curation output as a dataset with a dataset card."""

from __future__ import annotations

from pathlib import Path

import typer

from synth_assets.cli.common import JsonOption, console, err_console, fail, lineage, print_json, print_table, store


def export_command(
    target: str = typer.Argument(..., help="A batch (id or path), or an experiment or curation output "
                                           "(batch path, shared path or fingerprint)."),
    fmt: str = typer.Option("hf", "--format", "-f", help="hf (datasets save_to_disk), parquet or jsonl."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write (replaced only with --force)."),
    single: bool = typer.Option(False, "--single", help="A batch as one dataset with an `experiment` column."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
    push_to_hub: str | None = typer.Option(None, "--push-to-hub",
                                           help="Then upload to this Hugging Face dataset repo (network and token needed)."),
    as_json: bool = JsonOption,
) -> None:
    """Write data files per split and a README.md dataset card (licences, parameters, fingerprint, quality, cost, lineage)."""
    try:
        from synth_assets.export import ExportError, export_target
        from synth_assets.export import push_to_hub as push
    except ImportError as exc:
        raise fail(f"synth export needs the `export` extra ({exc.name} is missing): pip install -e '.[export]'") from None

    try:
        result = export_target(store(), target, out, fmt, lineage=lineage(), single=single, force=force)
    except ExportError as exc:
        raise fail(str(exc)) from None
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    rows = [{"dataset": folder or ".", "config": s.config, "split": s.split, "rows": s.num_examples, "path": s.path}
            for folder, splits in result.written.items() for s in splits]
    url = push(result.out, push_to_hub) if push_to_hub else None
    if as_json:
        return print_json({"out": result.out, "files": rows, "warnings": result.warnings, "hub_commit": url})
    print_table(f"Exported to {result.out}", ["dataset", "config", "split", "rows", "files"], ([r[k] for k in r] for r in rows))
    if url:
        console.print(f"pushed to the Hugging Face Hub: {url}")

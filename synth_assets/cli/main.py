"""The `synth` command line."""

import typer

from synth_assets.cli.llm_cmd import llm_command

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Synthetic data platform: fingerprinted store, batches, lineage.")
app.command("llm")(llm_command)

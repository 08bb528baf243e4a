"""The `synth` command line: the platform's commands, and each recipe's own (its `cli` hook)."""

import typer

from synth_assets.cli import backfill, browse, compare, config_commands, evaluations, lineage_cmd, manage, quality, review, sensors
from synth_assets.cli.common import store, use_root
from synth_assets.cli.export import export_command
from synth_assets.cli.llm_cmd import llm_command
from synth_assets.cli.recipe_commands import WithRecipeCommands
from synth_assets.cli.storage_errors import SynthTyper

app = SynthTyper(cls=WithRecipeCommands, no_args_is_help=True, add_completion=False,
                  help="Synthetic data platform: fingerprinted shared store, batch views, lineage.")


@app.callback()
def main(context: typer.Context,
         root: str = typer.Option(None, "--root", envvar="SYNTH_ROOT", help="Store root (default ./data).")) -> None:
    use_root(context, root)
    if (root or "").startswith("s3://"):
        store()  # a missing bucket or missing credentials fail here, naming the bucket / variables


app.command("fingerprint")(config_commands.fingerprint_command)
app.command("register")(config_commands.register_command)
app.command("run")(config_commands.run_command)
app.command("regenerate")(config_commands.regenerate_command)
app.command("backfill")(backfill.backfill_command)
app.command("batches")(browse.batches_command)
app.command("batch")(browse.batch_command)
app.command("shared")(browse.shared_command)
app.command("compare")(compare.compare_command)
app.command("quality")(quality.quality_command)
app.command("evaluations")(evaluations.evaluations_command)
app.command("calibrate")(quality.calibrate_command)
app.command("review")(review.review_command)
app.command("data-paths")(browse.data_paths_command)
app.command("resolve")(browse.resolve_command)
app.command("rm")(manage.rm_command)
app.command("import-legacy")(manage.import_legacy_command)
app.command("export")(export_command)
app.command("llm")(llm_command)
app.add_typer(lineage_cmd.app, name="lineage")
app.add_typer(sensors.app, name="sensors")


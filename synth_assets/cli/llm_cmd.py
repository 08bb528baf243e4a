"""`synth llm`: smoke-test the LLM layer (placeholder, replaced by the LLM layer work)."""

import typer


def llm_command(prompt: str = typer.Argument(...)) -> None:
    """Send one prompt to the configured LLM backend."""
    raise typer.Exit(1)

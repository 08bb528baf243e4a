"""`synth llm`: send one prompt through the LLM client and print the answer."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.panel import Panel

from synth_assets.cli.common import root
from synth_assets.core.models import BACKENDS, DEFAULT_BACKEND
from synth_assets.llm.cache import cache_options
from synth_assets.llm.client import LLMClient
from synth_assets.llm.errors import LLMConfigError
from synth_assets.llm.types import ChatRequest


def llm_command(
    prompt: str = typer.Argument(..., help="User message to send"),
    backend: str = typer.Option(DEFAULT_BACKEND, "--backend", help=" | ".join(BACKENDS)),
    model: str = typer.Option(None, "--model", help="Model name (default: the backend's default)"),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (openai backend)"),
    max_tokens: int = typer.Option(128, "--max-tokens", help="Completion token limit"),
    temperature: float = typer.Option(0.7, "--temperature", help="Sampling temperature in [0, 2]"),
    cache: bool = typer.Option(False, "--cache/--no-cache", help="Answer from the request cache when possible"),
) -> None:
    """Send one prompt to an LLM backend; print the answer, backend, model and tokens/s."""
    console = Console()
    try:
        request = ChatRequest(messages=[{"role": "user", "content": prompt}], model=model, max_tokens=max_tokens,
                              temperature=temperature)
        llm = LLMClient(backend=backend, model=model, base_url=base_url, **cache_options(root()))
        with console.status(f"asking {backend} ..."):
            result = llm.chat([request], use_cache=cache)
    except (LLMConfigError, ValidationError) as e:
        console.print(f"[bold red]error:[/] {e}")
        raise typer.Exit(2) from None
    response = result.responses[0]
    if not response.ok:
        console.print(f"[bold red]request failed:[/] {response.error}")
        raise typer.Exit(1)
    rate = response.completion_tokens / response.latency_s if response.latency_s > 0 else 0.0
    console.print(Panel(response.text or "", title="answer", expand=False))
    console.print(
        f"backend=[cyan]{response.backend}[/] model=[cyan]{response.model}[/] "
        f"tokens={response.prompt_tokens}+{response.completion_tokens} "
        f"[green]{rate:.1f} tokens/s[/]{' (cached)' if response.cache_hit else ''}"
    )

"""`synth batches-api ...`: the OpenAI Batch API pipeline from the command line.

slice DIR -> build SLICES -> estimate / submit INPUT -> list / status / download / cancel; run-local runs
the same input files through the LLM layer (no key) and writes Batch-API-format output and error files.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import typer

from synth_assets.cli.common import console, print_table, root, store
from synth_assets.cli.common import err_console as err
from synth_assets.cli.materialize import dagster_instance
from synth_assets.defs.partitions import add_partitions, partition_key
from synth_assets.recipes.batch_api.errors import BatchAPIError, InputError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="OpenAI Batch API: build, estimate, submit, monitor, download, run locally.")

Backend = typer.Option("openai", "--backend", help="openai (Batch API at --base-url) | local (run through the local model)")
BaseUrl = typer.Option(None, "--base-url", help="OpenAI-compatible base URL (default OPENAI_BASE_URL or api.openai.com)")
ConfigJson = typer.Option(None, "--config-json", help="Old config.json with api_key (used when OPENAI_API_KEY is unset)")
AsJson = typer.Option(False, "--json", help="Print JSON.")
MaxRetries = typer.Option(2, "--max-retries", min=0, help="Times a failed request line is sent again before it is reported")


def _pipeline(backend: str = "openai", base_url: str | None = None, config_json: str | None = None, max_retries: int = 2):
    from synth_assets.recipes.batch_api.pipeline import make_pipeline

    return make_pipeline(root(), backend=backend, base_url=base_url, config_json=config_json, max_retries=max_retries)


def _guard(fn: Callable) -> Callable:
    """Turn the pipeline's errors into a red message and an exit code (2: bad input, 1: other)."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        from synth_assets.llm.errors import LLMConfigError

        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        except (BatchAPIError, LLMConfigError, FileNotFoundError) as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None
    return run


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _counts(job: dict[str, Any]) -> str:
    c = job.get("request_counts") or {}
    return f"{c.get('completed', 0)}/{c.get('failed', 0)}/{c.get('total', job['n_requests'])}"


def _estimate_line(est: dict[str, Any]) -> str:
    approx = " (approximate: tiktoken unavailable or no max_tokens)" if est.get("approximate") else ""
    return (f"{est['requests']} requests, {est['model']}: {est['prompt_tokens']:,} prompt tokens + <= "
            f"{est['completion_tokens_max']:,} completion tokens -> ${est['cost_usd']:.4f} with the batch discount "
            f"(x{est['batch_discount']}; ${est['cost_usd_without_batch_discount']:.4f} without){approx}")


# ---------------------------------------------------------------------- building


@app.command("slice")
@_guard
def slice_command(directory: Path = typer.Argument(..., help="Directory of Python sources (e.g. the stdlib `json` package)"),
                  out: Path = typer.Option(..., "--out", help="Slices JSONL to write"),
                  min_lines: int = typer.Option(2, "--min-lines", help="Skip functions/classes shorter than this"),
                  max_lines: int = typer.Option(400, "--max-lines", help="Skip functions/classes longer than this")) -> None:
    """Extract function and class slices from a Python tree with `ast`."""
    from synth_assets.recipes.batch_api.slicer import slice_directory, write_slices

    slices, report = slice_directory(directory, min_lines=min_lines, max_lines=max_lines)
    write_slices(slices, out)
    kinds = {k: sum(1 for s in slices if s["kind"] == k) for k in ("function", "class")}
    console.print(f"{report.files} files -> {len(slices)} slices ({kinds['function']} functions, {kinds['class']} classes) -> {out}")
    for problem in report.skipped:
        err.print(f"[yellow]skipped[/] {problem}")


@app.command("build")
@_guard
def build_command(slices: Path = typer.Argument(..., help="Reviewed slices JSONL"),
                  out_dir: Path = typer.Option(..., "--out-dir", help="Folder for batch_input_NNNN.jsonl and meta.jsonl"),
                  templates: Path = typer.Option(None, "--templates", help="Prompt templates YAML (default: the packaged one)"),
                  model: str = typer.Option(None, "--model", help="Model (default: the templates' model)"),
                  max_scenario1: int = typer.Option(None, "--max-scenario1", min=0, help="Cap on function (scenario 1) requests"),
                  max_scenario2: int = typer.Option(None, "--max-scenario2", min=0, help="Cap on class (scenario 2) requests"),
                  max_requests: int = typer.Option(50_000, "--max-requests-per-file", min=1, help="Split files at this many requests"),
                  max_mb: float = typer.Option(200.0, "--max-mb-per-file", min=0.001, help="Split files at this size")) -> None:
    """Turn reviewed slices into OpenAI Batch API input files (split at 50,000 requests / 200 MB)."""
    from synth_assets.recipes.batch_api import build, cost

    tpl = build.load_templates(templates)
    result = build.build_requests(build.read_slices(slices), tpl, model=model, max_scenario1=max_scenario1, max_scenario2=max_scenario2)
    if not result.requests:
        raise InputError(str(slices), ["no requests left after review and caps"])
    paths = build.write_batch_files(result, out_dir, max_requests=max_requests, max_bytes=int(max_mb * 1024 * 1024))
    for p in paths:
        build.validate_input(p)  # the same check as before upload
    by = {s: sum(1 for m in result.meta if m["scenario"] == s) for s in ("scenario1", "scenario2")}
    console.print(f"{len(result.requests)} requests (scenario1 {by['scenario1']}, scenario2 {by['scenario2']}) in {len(paths)} file(s) "
                  f"under {out_dir}; rejected by review {result.rejected}, over caps {sum(result.capped.values())}, "
                  f"duplicates {result.duplicates}")
    console.print(_estimate_line(cost.estimate(result.requests)))
    for p in paths:
        console.print(f"  {p}")


@app.command("estimate")
@_guard
def estimate_command(inputs: list[Path] = typer.Argument(..., help="Batch input JSONL file(s)"),
                     prices: Path = typer.Option(None, "--prices", help="Price table YAML"),
                     local: bool = typer.Option(False, "--local", help="Estimate for run-local (no charge)"),
                     as_json: bool = AsJson) -> None:
    """Tokens and cost before submitting: prompt tokens x price + max completion tokens x price, x batch discount."""
    from synth_assets.llm.pricing import load_prices
    from synth_assets.recipes.batch_api import cost
    from synth_assets.recipes.batch_api.build import validate_input

    table = load_prices(str(prices) if prices else None)
    requests = [r for p in inputs for r in validate_input(p).requests]
    est = cost.estimate(requests, table, free=local)
    if as_json:
        return _echo_json(est)
    console.print(_estimate_line(est))


# ---------------------------------------------------------------------- API


@app.command("submit")
@_guard
def submit_command(inputs: list[Path] = typer.Argument(..., help="Batch input JSONL file(s)"),
                   dataset: str = typer.Option(None, "--dataset", help="Also register the files as a (dataset, fingerprint) partition"),
                   meta: Path = typer.Option(None, "--meta", help="meta.jsonl from `build` (custom_id -> slice); default: next to the input"),
                   max_cost: float = typer.Option(None, "--max-cost", help="Refuse when the estimate is above this many USD"),
                   backend: str = Backend, base_url: str = BaseUrl, config_json: str = ConfigJson, max_retries: int = MaxRetries,
                   as_json: bool = AsJson) -> None:
    """Validate, estimate and submit input files (idempotent: a file already submitted is never sent again)."""
    from synth_assets.recipes.batch_api import cost
    from synth_assets.recipes.batch_api.build import validate_input

    checked = [validate_input(p) for p in inputs]  # every file is checked before anything is uploaded
    est = cost.estimate([r for c in checked for r in c.requests], free=backend == "local")
    if not as_json:
        console.print(("estimate: " if backend != "local" else "local run (free): ") + _estimate_line(est))
    if max_cost is not None and est["cost_usd"] > max_cost:
        raise BatchAPIError(f"estimate ${est['cost_usd']:.4f} is above --max-cost ${max_cost:.4f}: nothing submitted")
    pipe = _pipeline(backend, base_url, config_json, max_retries)
    partition = None
    if dataset:
        meta_path = meta or Path(inputs[0]).with_name("meta.jsonl")
        s = pipe.register_set(dataset, [str(p) for p in inputs], meta_path if meta_path.is_file() else None)
        jobs = pipe.submit_set(s)
        record = store().registration(s["set_fp"])
        partition = str(partition_key(record))
        try:
            add_partitions(dagster_instance(root()), [record])
        except Exception as exc:  # the sensor adds them too
            err.print(f"[yellow]note:[/] partition not added to Dagster now ({type(exc).__name__}); the sensor will add it")
    else:
        jobs = [pipe.submit_file(p) for p in inputs]
    if as_json:
        return _echo_json({"estimate": est, "partition": partition, "jobs": jobs})
    print_table("Submitted", ["input", "batch", "status", "requests", "file"],
           [[str(p), j["batch_id"], j["status"], j["n_requests"], j["file_id"]] for p, j in zip(inputs, jobs)])
    if partition:
        console.print(f"partition [cyan]{partition}[/] (assets batchapi/*; the batchapi_sensor collects it when done)")


@app.command("list")
@_guard
def list_command(all_jobs: bool = typer.Option(False, "--all", help="Finished batches too"),
                 refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Ask the API for the open ones first"),
                 backend: str = Backend, base_url: str = BaseUrl, config_json: str = ConfigJson, as_json: bool = AsJson) -> None:
    """Active batch jobs with status and counts (completed/failed/total)."""
    from synth_assets.recipes.batch_api.client import OPEN
    from synth_assets.recipes.batch_api.pipeline import UNSENT

    pipe = _pipeline(backend, base_url, config_json)
    if refresh and pipe.ledger.jobs(statuses=OPEN):
        try:
            pipe.refresh_open()
        except BatchAPIError as exc:
            err.print(f"[yellow]not refreshed:[/] {exc}")
    jobs = pipe.ledger.jobs() if all_jobs else pipe.ledger.jobs(statuses=OPEN + UNSENT)
    if as_json:
        return _echo_json(jobs)
    print_table("Batch jobs" if all_jobs else "Active batch jobs", ["batch", "status", "done/failed/total", "model", "backend", "attempt", "root", "created"],
           [[j["batch_id"] or f"(job {j['key'][:12]})", j["status"], _counts(j), j["model"], j["backend"], j["attempt"],
             j["root_key"][:12], j["created_at"]] for j in jobs])


def _describe(pipe, job: dict[str, Any]) -> dict[str, Any]:
    results = pipe.ledger.results(job["root_key"])
    ok = sum(1 for r in results.values() if r["status"] == "ok")
    failed = {cid: r["last_error"] for cid, r in results.items() if r["status"] != "ok"}
    root = pipe.ledger.job(job["root_key"])
    return {"batch_id": job["batch_id"], "status": job["status"], "request_counts": job["request_counts"], "model": job["model"],
            "backend": job["backend"], "job_key": job["key"], "root_key": job["root_key"], "attempt": job["attempt"],
            "input": job["input_path"], "file_id": job["file_id"], "output_file_id": job["output_file_id"],
            "error_file_id": job["error_file_id"], "estimate": job["estimate"], "usage": job["usage"],
            "parse_errors": job["parse_errors"], "held": bool(job["held"]),
            "root": {"requests": root["n_requests"] if root else None, "completed": ok, "failed_or_pending_errors": failed},
            "batches_of_root": [[j["batch_id"], j["status"], j["attempt"]] for j in pipe.ledger.jobs(root_key=job["root_key"])]}


@app.command("status")
@_guard
def status_command(batch_id: str = typer.Argument(..., help="Batch id (or job key / unique prefix)"),
                   backend: str = Backend, base_url: str = BaseUrl, config_json: str = ConfigJson, as_json: bool = AsJson) -> None:
    """One batch: status, counts, files, estimate and actual cost, and how its input file stands overall."""
    pipe = _pipeline(backend, base_url, config_json)
    job = pipe.refresh(pipe.find(batch_id))
    info = _describe(pipe, job)
    if as_json:
        return _echo_json(info)
    print_table(f"Batch {job['batch_id']}", ["field", "value"], [[k, json.dumps(v, default=str) if isinstance(v, (dict, list)) else v]
                                                          for k, v in info.items()])


@app.command("download")
@_guard
def download_command(batch_id: str = typer.Argument(..., help="Batch id (or job key / unique prefix)"),
                     resubmit: bool = typer.Option(True, "--resubmit/--no-resubmit",
                                                   help="Then resubmit only the missing / failed requests of its input"),
                     backend: str = Backend, base_url: str = BaseUrl, config_json: str = ConfigJson, max_retries: int = MaxRetries,
                     as_json: bool = AsJson) -> None:
    """Download the output and error files of a finished batch and keep every completed response."""
    pipe = _pipeline(backend, base_url, config_json, max_retries)
    job = pipe.find(batch_id)
    got = pipe.download(job) if not job["ingested"] else {"job": job, "counts": {}, "problems": job["parse_errors"] or [],
                                                          "folder": str(pipe.folder / "downloads" / job["batch_id"])}
    state = pipe.advance_root(job["root_key"], resubmit=resubmit)
    if as_json:
        return _echo_json({"download": got, "state": state.__dict__})
    console.print(f"{job['batch_id']}: {got['job']['status']}; files in {got['folder']}; this download {got['counts'] or 'already recorded'}")
    for p in got["problems"]:
        err.print(f"[yellow]unparseable line (request kept outstanding):[/] {p}")
    console.print(f"input {state.root_key[:12]}: {state.ok}/{state.requests} completed, {len(state.todo)} outstanding, "
                  f"{len(state.failed)} failed after retries -> {state.status}"
                  + (f"; open: {', '.join(state.open_jobs)}" if state.open_jobs else ""))
    for cid, e in list(state.failed.items())[:20]:
        err.print(f"[red]failed[/] {cid}: {e}")


@app.command("cancel")
@_guard
def cancel_command(batch_id: str = typer.Argument(..., help="Batch id (or job key / unique prefix)"),
                   backend: str = Backend, base_url: str = BaseUrl, config_json: str = ConfigJson) -> None:
    """Cancel a batch. What it completed is kept; its input is not resubmitted until `resume`."""
    pipe = _pipeline(backend, base_url, config_json)
    job = pipe.cancel(pipe.find(batch_id))
    console.print(f"{job['batch_id']}: {job['status']} (held: `synth batches-api resume {job['batch_id']}` resubmits what is missing)")


@app.command("resume")
@_guard
def resume_command(batch_id: str = typer.Argument(..., help="Batch id (or job key / unique prefix)"),
                   backend: str = Backend, base_url: str = BaseUrl, config_json: str = ConfigJson, max_retries: int = MaxRetries) -> None:
    """Release a cancelled input and resubmit only its missing requests."""
    pipe = _pipeline(backend, base_url, config_json, max_retries)
    job = pipe.find(batch_id)
    pipe.release(job["root_key"])
    state = pipe.advance_root(job["root_key"])
    console.print(f"input {state.root_key[:12]}: {state.ok}/{state.requests} completed -> {state.status}"
                  + (f"; open: {', '.join(state.open_jobs)}" if state.open_jobs else ""))


@app.command("compile")
@_guard
def compile_command(dataset: str = typer.Argument(..., help="Dataset of a set registered with `submit --dataset`"),
                    fingerprint: str = typer.Argument(..., help="Its fingerprint (prefix)"),
                    out: Path = typer.Option(..., "--out", help="Training records JSONL"),
                    backend: str = Backend, base_url: str = BaseUrl, config_json: str = ConfigJson, max_retries: int = MaxRetries) -> None:
    """Without Dagster: collect a set (download, resubmit what is missing) and write its records once complete."""
    from synth_assets.recipes.batch_api.local_run import dumps_lines
    from synth_assets.recipes.batch_api.util import atomic_write_text

    pipe = _pipeline(backend, base_url, config_json, max_retries)
    s = pipe.ledger.set_by_partition(dataset, fingerprint)
    if s is None:
        raise BatchAPIError(f"no batch set {dataset}|{fingerprint}")
    states = pipe.advance_set(s)
    if not all(st.done for st in states):
        raise BatchAPIError("not complete yet: " + "; ".join(f"{st.root_key[:12]} {st.status} {st.ok}/{st.requests}" for st in states))
    rows, failures = pipe.compile_set(s)
    atomic_write_text(out, dumps_lines(rows))
    if failures:
        atomic_write_text(out.with_name(out.stem + "_failures.jsonl"), dumps_lines(failures))
    console.print(f"{len(rows)} records -> {out}; {len(failures)} failed")


# ---------------------------------------------------------------------- local


@app.command("run-local")
@_guard
def run_local_command(input_path: Path = typer.Argument(..., metavar="INPUT.jsonl", help="Batch input JSONL"),
                      out: Path = typer.Option(..., "--out", help="Output file (Batch API format)"),
                      errors: Path = typer.Option(None, "--errors", help="Error file (default OUT_errors.jsonl)"),
                      backend: str = typer.Option("local", "--backend", help="local (embedded model) | openai (any OpenAI-compatible URL) | vllm"),
                      base_url: str = BaseUrl,
                      model: str = typer.Option(None, "--model", help="Model to ask instead of each request's (openai/vllm)"),
                      gguf: str = typer.Option(None, "--gguf", help="GGUF file for the local backend"),
                      max_in_flight: int = typer.Option(8, "--max-in-flight", min=1, help="Requests in flight at once"),
                      n_parallel: int = typer.Option(8, "--n-parallel", min=1, help="Local model slots (each gets n_ctx / n_parallel context)"),
                      n_ctx: int = typer.Option(8192, "--n-ctx", min=256, help="Local model total context"),
                      cache: bool = typer.Option(False, "--cache/--no-cache", help="Answer identical requests from the LLM cache"),
                      config_json: str = ConfigJson) -> None:
    """Run a batch input file against the local model or any OpenAI-compatible endpoint; write output and
    error files in the Batch API's format (parsed by the same code as the API's)."""
    import os

    from synth_assets.llm.client import LLMClient
    from synth_assets.recipes.batch_api.local_run import run_file

    api_key = None
    if backend == "openai" and not os.environ.get("OPENAI_API_KEY"):
        from synth_assets.recipes.batch_api.client import resolve_api_key

        api_key = resolve_api_key(config_json) if config_json else "local"  # many local servers ignore the key
    llm = LLMClient(backend=backend, base_url=base_url, model=model, gguf_path=gguf, max_in_flight=max_in_flight, api_key=api_key,
                    n_parallel=n_parallel, n_ctx=n_ctx)
    if model:
        from synth_assets.recipes.batch_api.build import validate_input

        checked = validate_input(input_path)
        rows = [{**r, "body": {**r["body"], "model": model}} for r in checked.requests]
        from synth_assets.recipes.batch_api.local_run import dumps_lines, run_requests
        from synth_assets.recipes.batch_api.util import atomic_write_text

        outputs, errs, usage = run_requests(rows, llm, use_cache=cache, progress=sys.stderr.isatty())
        errors = errors or out.with_name(out.stem + "_errors.jsonl")
        atomic_write_text(out, dumps_lines(outputs))
        atomic_write_text(errors, dumps_lines(errs))
        summary = {"requests": len(rows), "completed": len(outputs), "failed": len(errs), "output": str(out), "errors": str(errors), "usage": usage}
    else:
        summary = run_file(input_path, out, errors, llm, use_cache=cache, progress=sys.stderr.isatty())
    console.print(f"{summary['completed']}/{summary['requests']} completed, {summary['failed']} failed -> {summary['output']} "
                  f"(errors: {summary['errors']}); tokens {summary['usage'].get('prompt_tokens', 0)}+{summary['usage'].get('completion_tokens', 0)}")


if __name__ == "__main__":
    app()

"""Helpers of the data-safety tests: the fault-injection OpenAI server, `synth` as a child process that can be
killed, rewrites the rules validator accepts, and a poller that reads every batch view while a writer works."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from synth_assets.testing import fake_openai_server
from tests.conftest import REPO

SYNTH = str(Path(sys.executable).parent / "synth")
MODEL = "gpt-4o-mini"
NAME = "temp07_topp10_gpt4omini"  # the semantic name of `openai_config` experiments at the default sampling


class FakeLLM(fake_openai_server.FakeOpenAIClient):
    """The OpenAI-compatible fault-injection server (`synth_assets.testing.fake_openai_server`) in a child process."""

    def __init__(self, latency: float = 0.0):
        self.proc, base_url = fake_openai_server.start(latency=latency, max_seconds=900)
        super().__init__(base_url)

    def received(self) -> Counter[str]:
        return Counter(self.counts()["received"])

    def answered(self) -> Counter[str]:
        return Counter(self.counts()["answered"])

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)


def openai_config(batch_id: str, *, limit: int = 10, validators: list | None = None, **generation: Any) -> dict[str, Any]:
    """A Copa experiment on the openai backend (the fake server), validated by the rules only (no model to load)."""
    return {
        "experiment": {"batch_id": batch_id, "purpose": "safety"},
        "dataset": {"dataset_name": "Copa", "limit": limit},
        "generation": {"backend": "openai", "model": MODEL, "temperature": 0.7, "max_tokens": 32, **generation},
        "validation": {"validators": validators or ["rules"]},
    }


def write_config(folder: Path, name: str, config: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def generation_prompts(config: Path) -> dict[str, str]:
    """The content each generation request of a config sends -> the premise it asks to rewrite (needs OPENAI_API_KEY)."""
    from synth_assets.core.records import select_records
    from synth_assets.recipes.registry import load_experiments
    from synth_assets.recipes.rephrase import rewrite

    (exp,) = load_experiments(config)
    records = select_records(exp)
    return {req.messages[-1]["content"]: records[index]["premise"] for index, _, req in rewrite.generation_requests(exp, records)}


def rewrite_rules(prompts: dict[str, str], opener: str, **rule: Any) -> dict[str, dict[str, Any]]:
    """Fake-server rules answering each prompt with `{opener} {premise}` (a rewrite the rules validator accepts)."""
    return {content: {"text": f"{opener} {premise}", **rule} for content, premise in prompts.items()}


def rewritten_experiment(llm: FakeLLM, configs: Path, batch_id: str) -> tuple[Path, dict[str, str]]:
    """`a.yaml`, a 4-row experiment of `batch_id`, with the server told to rewrite each row ("In fact, ..."); returns
    the config and its generation prompts."""
    config = write_config(configs, "a.yaml", openai_config(batch_id, limit=4))
    prompts = generation_prompts(config)
    llm.control(rules=rewrite_rules(prompts, "In fact,"))
    return config, prompts


def child_env(root: Path, home: Path, llm: FakeLLM | None = None, **extra: str) -> dict[str, str]:
    """The environment of a `synth` child: its store, its Dagster home, the fake server as OpenAI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTH_", "OPENAI_"))}
    env.update(SYNTH_ROOT=str(root), DAGSTER_HOME=str(home), PYTHONPATH=str(REPO), OPENAI_API_KEY="sk-test", **extra)
    if llm is not None:
        env["OPENAI_BASE_URL"] = llm.base_url
    return env


def synth(env: dict[str, str], *args: str, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `synth ARGS` to its end."""
    return subprocess.run([SYNTH, *args], env=env, cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout,
                          check=False)


def cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`synth ARGS` in this process (no start-up cost), for commands that run no Dagster job; a traceback fails."""
    from typer.testing import CliRunner

    from synth_assets.cli.main import app

    before = Path.cwd()
    os.chdir(cwd or REPO)
    try:
        result = CliRunner().invoke(app, list(args), env=env)
    finally:
        os.chdir(before)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def flat(text: str) -> str:
    """Output with rich's line wrapping undone (for substring checks)."""
    return " ".join(text.split())


class Child:
    """`synth ARGS` in its own process group, output to a log file; killed with SIGKILL by its group id."""

    def __init__(self, env: dict[str, str], log: Path, *args: str):
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen([SYNTH, *args], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.log.name} did not finish in {timeout}s:\n{self.output()[-3000:]}") from None


def wait_for(condition: Callable[[], Any], child: Child | None, what: str, timeout: float = 180, every: float = 0.005) -> Any:
    """Poll `condition` until it is truthy (its value is returned); fail if the child ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if child is not None and child.proc.poll() is not None:
            raise AssertionError(f"{child.log.name} ended before {what}:\n{child.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def train_file(view: Path, dataset: str = "Copa") -> Path:
    return view / dataset / f"{dataset.lower()}_train.jsonl"


class ViewPoller(threading.Thread):
    """Reads every batch view of a store every `every` seconds: each must show `.fingerprint` and a train file of
    `rows` parseable lines. Problems are collected, never raised from the thread."""

    def __init__(self, root: Path, rows: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.root, self.rows, self.every = root, rows, every
        self.polls = 0
        self.problems: list[str] = []
        self.fingerprints: set[str] = set()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            views = sorted(self.root.glob("batch_*/*/*"))
            if not views:
                self.problems.append("no batch view")
            for view in views:
                self._read(view)
            self.polls += 1
            self._halt.wait(self.every)

    def _read(self, view: Path) -> None:
        try:
            self.fingerprints.add((view / ".fingerprint").read_text().strip())
            lines = [json.loads(line) for line in train_file(view).read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, ValueError) as exc:
            self.problems.append(f"{view}: {type(exc).__name__}: {exc}")
            return
        if len(lines) != self.rows:
            self.problems.append(f"{view}: {len(lines)} rows, expected {self.rows}")

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)


def leftovers(root: Path) -> list[Path]:
    """Temporary folders of killed writers of Copa experiments and stages."""
    return sorted(root.glob("_shared/Copa/.tmp-*")) + sorted(root.glob("_stages/Copa/*/.tmp-*"))


def reference_file(path: Path, lines: int = 100_000) -> Path:
    """A large decontamination reference: the publish step spends about a second on it, inside its temporary folder."""
    words = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "sigma")
    pick = random.Random(0).choice
    path.write_text("".join(json.dumps({"text": " ".join(pick(words) for _ in range(12))}) + "\n" for _ in range(lines)))
    return path

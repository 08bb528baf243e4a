"""Where evaluations live in the store, and the evaluators registered for each experiment.

- `.synth/evaluators/{experiment fp}/{name}.json`: the evaluator specs of an experiment, written when
  a config with `evaluation:` is registered (a later registration may add or change evaluators;
  the experiment's own record, first saved wins, is never rewritten).
- `{experiment folder}/evaluations/{evaluator}/{fp16}/`: `metrics.json` (written last: an evaluation
  is complete when it exists), `stdout.log`, `stderr.log`, and `failure.json` for a failed attempt
  (never a metric; the next run tries again). Next to the published data, so a batch view shows it.
- `_evaluations/baselines/{dataset}/{source stage fp16}/{evaluator}/{fp16}/`: the same for the
  original rows of a selection; every experiment of a sweep over the same rows shares it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from synth_assets.core.store import META, Store
from synth_assets.evaluation.spec import EvaluatorSpec

METRICS, FAILURE, STDOUT, STDERR = "metrics.json", "failure.json", "stdout.log", "stderr.log"
_SPEC = TypeAdapter(EvaluatorSpec)


def specs_key(fingerprint: str) -> str:
    return f"{META}/evaluators/{fingerprint}"


def save_specs(store: Store, fingerprint: str, specs: list[Any]) -> None:
    """Record the evaluators a config asks for (same name: the newer spec replaces the older)."""
    for spec in specs:
        data = json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()
        key = f"{specs_key(fingerprint)}/{spec.name}.json"
        try:
            if store.read_bytes(key) == data:
                continue
        except FileNotFoundError:
            pass
        store.write_bytes(key, data)


def registered_specs(store: Store, fingerprint: str) -> list[Any]:
    """The evaluators registered for an experiment, by name."""
    names = sorted(n for n in store.children(specs_key(fingerprint)) if n.endswith(".json"))
    return [_SPEC.validate_python(json.loads(store.read_bytes(f"{specs_key(fingerprint)}/{n}"))) for n in names]


def result_key(store: Store, record: dict[str, Any], spec: Any) -> str:
    return f"{store.files_key(record['dataset'], record['semantic_name'])}/evaluations/{spec.name}/{spec.fingerprint[:16]}"


def baseline_key(record: dict[str, Any], spec: Any) -> str:
    source = record["stages"].get("source") or next(iter(record["stages"].values()))
    return f"_evaluations/baselines/{record['dataset']}/{source[:16]}/{spec.name}/{spec.fingerprint[:16]}"


def read_json(store: Store, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(store.read_bytes(key))
    except FileNotFoundError:
        return None


def write_result(store: Store, prefix: str, doc: dict[str, Any], stdout: str = "", stderr: str = "") -> None:
    """Logs first, `metrics.json` last (the marker of a complete evaluation); a failure record of an earlier try goes."""
    store.write_bytes(f"{prefix}/{STDOUT}", stdout.encode())
    store.write_bytes(f"{prefix}/{STDERR}", stderr.encode())
    store.write_bytes(f"{prefix}/{METRICS}", json.dumps(doc, indent=2, sort_keys=True, default=str).encode())
    try:
        store.delete(f"{prefix}/{FAILURE}")
    except FileNotFoundError:
        pass


def write_failure(store: Store, prefix: str, failure: dict[str, Any], stdout: str = "", stderr: str = "") -> None:
    store.write_bytes(f"{prefix}/{STDOUT}", stdout.encode())
    store.write_bytes(f"{prefix}/{STDERR}", stderr.encode())
    store.write_bytes(f"{prefix}/{FAILURE}", json.dumps(failure, indent=2, sort_keys=True, default=str).encode())

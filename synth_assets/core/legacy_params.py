"""The parameters of a legacy experiment, in the shape `synth/1` registrations use.

Read from the experiment's config copy (`generation_config.yaml`, the file the legacy fingerprint
is verified over, so it wins) and its `experiment_metadata.json` (resolved values the old tooling
recorded, which fill what the config leaves out). Defaults are the ones the legacy fingerprint
applies, so two experiments with the same legacy fingerprint show the same parameters.

```
source:     {dataset, input_path, ...}         # the config's dataset section
generation: {model, temperature, top_p, max_tokens, frequency_penalty, presence_penalty,
             prompt, rewrite_fields, ...}      # rephrase_prompt -> prompt, field_to_rephrase -> rewrite_fields
validation: {model, temperature, prompt, ...}  # validation_prompt -> prompt; None without validation
task_name, training_method, version, ...       # any other top-level key, as it is
```
Names follow `synth/1` (`generation.prompt`, `generation.temperature`), so `synth compare` lines a
legacy experiment up with a new one.
"""

from __future__ import annotations

import json
from typing import Any

from synth_assets.core.fingerprint import canonical_json

# the defaults `legacy_fingerprint` applies
GENERATION_DEFAULTS = {"top_p": 1.0, "max_tokens": 256, "frequency_penalty": 0.0, "presence_penalty": 0.0}
VALIDATION_DEFAULTS = {"temperature": 0.0}
_RENAMES = {
    "generation": {"rephrase_prompt": "prompt", "field_to_rephrase": "rewrite_fields"},
    "validation": {"validation_prompt": "prompt"},
    "dataset": {"dataset_name": "dataset"},
}
_ORGANISATION = "experiment"  # batch id, purpose, description: not parameters (as in synth/1)


def _section(config: dict[str, Any], meta: dict[str, Any], name: str, defaults: dict[str, Any],
             notes: list[str]) -> dict[str, Any]:
    given = config.get(name) or {}
    if not isinstance(given, dict):
        raise ValueError(f"{name}: a mapping expected, got {type(given).__name__}")
    section = dict(given)
    recorded = meta.get(name) if isinstance(meta.get(name), dict) else {}
    for key, value in recorded.items():
        if key not in section:
            section[key] = value
        elif canonical_json(section[key]) != canonical_json(value):
            notes.append(f"{name}.{key} is {value!r} in the metadata but {section[key]!r} in the config; the config's value is kept")
    for key, value in defaults.items():
        section.setdefault(key, value)
    renamed = {_RENAMES.get(name, {}).get(key, key): value for key, value in section.items()}
    if isinstance(renamed.get("rewrite_fields"), str):
        renamed["rewrite_fields"] = [renamed["rewrite_fields"]]
    return renamed


def legacy_params(dataset: str, config: dict[str, Any], meta: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(parameters, notes): notes name each value where the metadata disagrees with the config."""
    notes: list[str] = []
    params: dict[str, Any] = {
        "source": {"dataset": dataset, **_section(config, {}, "dataset", {}, notes)},
        "generation": _section(config, meta, "generation", GENERATION_DEFAULTS, notes),
        "validation": (_section(config, meta, "validation", VALIDATION_DEFAULTS, notes)
                       if config.get("validation") is not None else None),
    }
    for key, value in config.items():
        if key not in ("dataset", "generation", "validation", _ORGANISATION):
            params[key] = value
    return json.loads(canonical_json(params)), notes

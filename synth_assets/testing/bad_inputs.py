"""A table of bad experiment configs, as a new user with bad luck writes them, and what `synth register` makes of each.

Each case is a config (a valid one, edited) and the field the error must name; `try_case` runs `synth register` on
it in-process against a fresh store and classifies the outcome: `clear` (exit 2, `error: FILE:LINE: FIELD: ...`,
nothing registered), `unclear` (refused, but without file, line or the field), `traceback` or `registered`.
`tests/test_bad_input_table.py` requires every case to be `clear`; `benchmarks/bad_inputs.py` counts them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from synth_assets.core.batch_ids import is_batch_id

BASE = """\
experiment:
  batch_id: batch_20250101_table
  purpose: table
  description: one bad input at a time
dataset:
  dataset_name: Copa
  split: train
  limit: 3
  sample: head
  seed: 0
generation:
  backend: local
  temperature: 0.7
  top_p: 1.0
  max_tokens: 16
  k_shot: 2
  n: 1
validation:
  validators: [rules]
  min_pass_rate: 0.0
decontamination:
  ngram: 8
"""

NUMBERS = {  # section.key -> an out-of-range value (None: any number is in range)
    "dataset.limit": "0", "dataset.seed": None, "generation.temperature": "2.5", "generation.top_p": "0",
    "generation.max_tokens": "0", "generation.frequency_penalty": "3", "generation.presence_penalty": "-3",
    "generation.seed": None, "generation.k_shot": "-1", "generation.n": "17", "generation.max_failure_rate": "1.5",
    "validation.temperature": "-0.1", "validation.max_tokens": "0", "validation.top_p": "1.5", "validation.min_pass_rate": "2",
    "validation.max_words": "0", "validation.max_failure_rate": "-1", "validation.seed": None,
    "validation.frequency_penalty": "2.5", "decontamination.ngram": "1",
}
CHOICES = {"dataset.sample": "middle", "generation.backend": "llamacpp", "validation.select": "best",
           "decontamination.blocking": "maybe", "generation.allow_truncated": "sometimes"}
TYPOS = ["experiment.batch_id", "experiment.purpose", "experiment.description", "dataset.split", "dataset.limit", "dataset.sample",
         "generation.temperature", "generation.top_p", "generation.max_tokens", "generation.k_shot", "generation.n",
         "validation.validators", "validation.min_pass_rate", "decontamination.ngram"]


@dataclass(frozen=True)
class Case:
    name: str
    text: str | bytes
    field: str | None  # the field the error must name (None: a problem with the file as a whole)
    line: int | None  # the line it must name (None: any line)


def set_key(text: str, dotted: str, value: str) -> tuple[str, int]:
    """`text` with `section.key` set to the YAML `value` (replacing or adding the key line); and that line's number."""
    section, key = dotted.split(".")
    lines = text.splitlines()
    start = lines.index(f"{section}:")
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    at = next((i for i in range(start + 1, end) if lines[i].startswith(f"  {key}:")), None)
    if at is None:
        lines.insert(end, "")
        at = end
    lines[at] = f"  {key}: {value}"
    return "\n".join(lines) + "\n", at + 1


def edited(name: str, dotted: str, value: str) -> Case:
    text, line = set_key(BASE, dotted, value)
    return Case(name, text, dotted, line)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _values() -> Iterator[Case]:
    for dotted, out_of_range in NUMBERS.items():
        yield edited(f"{dotted} text", dotted, "abc")
        yield edited(f"{dotted} true", dotted, "true")
        yield edited(f"{dotted} list of a bool", dotted, "[false]") if dotted.split(".")[1] in (
            "temperature", "top_p", "max_tokens", "seed", "frequency_penalty") else edited(f"{dotted} mapping", dotted, "{a: 1}")
        if out_of_range is not None:
            yield edited(f"{dotted} out of range", dotted, out_of_range)
    for dotted, value in CHOICES.items():
        yield edited(f"{dotted} not a choice", dotted, value)
    for dotted in TYPOS:
        section, key = dotted.split(".")
        text = BASE.replace(f"  {key}:", f"  {key}s:", 1) if f"\n{section}:" in "\n" + BASE else BASE
        yield Case(f"{dotted} typo", text, f"{section}.{key}s", line_of(text, f"  {key}s:"))
    for section in ("experiment", "dataset", "generation", "validation", "decontamination"):
        yield edited(f"{section} unknown key", f"{section}.colour", "blue")
        text = BASE.replace(f"{section}:\n", f"{section}: 3\n__cut__:\n", 1)
        text = re.sub(r"__cut__:\n(  .*\n)*", "", text)
        yield Case(f"{section} not a mapping", text, section, line_of(text, f"{section}:"))


def _names() -> Iterator[Case]:
    for name, value in [("bad characters", "batch_2025/01"), ("no batch_ prefix", "run_20250101"), ("spaces", "'batch 2025'"),
                        ("parent", "batch_..x"), ("300 characters", "batch_" + "x" * 300), ("a number", "20250101")]:
        yield edited(f"batch_id {name}", "experiment.batch_id", value)
    text = BASE.replace("  batch_id: batch_20250101_table\n", "")
    for name, value in [("bad characters", "a|b"), ("250 characters", "p" * 250), ("a list", "[a, b]")]:
        yield Case(f"purpose {name}", set_key(text, "experiment.purpose", value)[0], "experiment.purpose",
                   set_key(text, "experiment.purpose", value)[1])
    for name, value in [("unknown", "Copaa"), ("bad characters", "../Copa"), ("lower case", "copa"), ("empty", "''"),
                        ("300 characters", "C" * 300), ("a number", "7")]:
        yield edited(f"dataset_name {name}", "dataset.dataset_name", value)
    yield edited("split not in the catalog", "dataset.split", "dev")
    yield Case("dataset_name missing", BASE.replace("  dataset_name: Copa\n", ""), "dataset.dataset_name", None)


def _structure() -> Iterator[Case]:
    yield Case("unknown section", BASE + "sampling:\n  temperature: 0.5\n", "sampling", BASE.count("\n") + 1)
    yield Case("no dataset section", re.sub(r"dataset:\n(  .*\n)*", "", BASE), "dataset", None)
    yield edited("empty sweep", "generation.temperature", "[]")
    yield edited("sweep with a value out of range", "generation.temperature", "[0.5, 3.0]")
    yield edited("sweep with a boolean", "generation.top_p", "[1.0, true]")
    yield edited("sweep of a key that does not sweep", "generation.k_shot", "[1, 2]")
    yield edited("validators unknown kind", "validation.validators", "[rules, grammar]")
    yield edited("validators judge with a bad max_tokens", "validation.validators", "[{kind: judge, max_tokens: 4}]")
    yield edited("validators judge with a boolean temperature", "validation.validators", "[{kind: judge, temperature: true}]")
    yield edited("validators similarity min above 1", "validation.validators", "[{kind: similarity, min: 1.5}]")
    yield edited("validators rules unknown key", "validation.validators", "[{kind: rules, colour: blue}]")
    yield edited("validators not a list", "validation.validators", "rules")
    yield edited("prompt with an unknown placeholder", "generation.prompt", "'Rewrite {foo}: {text}'")
    yield edited("prompt with a bad template", "generation.prompt", "'Rewrite {text'")
    with_judge = set_key(BASE, "validation.validators", "[rules, judge]")[0]  # the section's prompt is the judge's default
    text, line = set_key(with_judge, "validation.prompt", "'Same? {original} {nope}'")
    yield Case("validation prompt with an unknown placeholder", text, "validation.prompt", line)
    yield edited("fields naming a missing field", "generation.fields", "[premisse]")
    yield edited("fields naming the label", "generation.fields", "[label]")
    yield edited("fields naming a number", "generation.fields", "[idx]")
    yield edited("fields with a bad path", "generation.fields", "['premise[']")
    yield edited("model missing for vllm", "generation.backend", "vllm")
    yield edited("decontamination reference missing", "decontamination.references", "[no_such_file.jsonl]")
    yield edited("calibration pairs missing", "validation.calibration", "{pairs: no_such_pairs.jsonl}")


def _yaml() -> Iterator[Case]:
    yield Case("unclosed list", BASE.replace("[rules]", "[rules"), None, None)
    yield Case("bad indentation", BASE.replace("  limit: 3", "   limit: 3"), None, None)
    yield Case("tab indentation", BASE.replace("  limit: 3", "\tlimit: 3"), None, None)
    yield Case("duplicate key", BASE.replace("  limit: 3\n", "  limit: 3\n  limit: 4\n"), "limit", line_of(BASE, "limit:") + 1)
    yield Case("non-UTF-8", BASE.replace("one bad input", "caf\xe9").encode("latin-1"), None, line_of(BASE, "description:"))
    yield Case("empty file", "", None, 1)
    yield Case("only a comment", "# nothing here\n", None, 1)
    yield Case("a list at the top", "- dataset: Copa\n", None, 1)
    yield Case("a scalar at the top", "Copa\n", None, 1)
    bomb = ["  l0: &l0 [" + ",".join(['"lol"'] * 9) + "]"] + [f"  l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]"
                                                            for i in range(1, 9)]
    yield Case("alias bomb of 8 levels", BASE + "bomb:\n" + "\n".join(bomb) + "\n", None, None)
    yield Case("anchor inside itself", BASE.replace("[rules]", "&v [*v]"), None, None)
    yield Case("unknown tag", BASE.replace("limit: 3", "limit: !big 3"), "dataset.limit", line_of(BASE, "limit:"))
    yield Case("bad !!int", BASE.replace("limit: 3", "limit: !!int three"), "dataset.limit", line_of(BASE, "limit:"))
    yield Case("list as a key", BASE + "? [a, b]\n: 1\n", None, None)
    yield Case("nested 3000 deep", BASE + "deep: " + "[" * 3000 + "]" * 3000 + "\n", None, None)


def cases() -> list[Case]:
    return [*_values(), *_names(), *_structure(), *_yaml()]


def _registered(root: Path) -> bool:
    if any(root.glob(".synth/experiments/*.json")) or any(is_batch_id(p.name) for p in root.iterdir()):
        return True
    if not (root / "lineage.duckdb").exists():
        return False
    import duckdb

    with duckdb.connect(str(root / "lineage.duckdb"), read_only=True) as con:
        return con.execute("SELECT (SELECT count(*) FROM experiments) + (SELECT count(*) FROM batch_members)").fetchone()[0] > 0


def try_case(case: Case, folder: Path) -> tuple[str, str]:
    """Run `synth register` on the case's config in a fresh store under `folder`: (outcome, what it printed)."""
    from typer.testing import CliRunner

    from synth_assets.cli.main import app

    folder.mkdir(parents=True, exist_ok=True)
    config, root = folder / "config.yaml", folder / "root"
    root.mkdir()
    config.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode())
    result = CliRunner().invoke(app, ["--root", str(root), "register", str(config)])
    said = " ".join(result.output.split())
    if _registered(root):
        return "registered", said
    if "Traceback" in result.output or (result.exception is not None and not isinstance(result.exception, SystemExit)):
        return "traceback", f"{said} {result.exception!r}"
    where = rf"error: {re.escape(str(config))}:{case.line if case.line else r'[0-9]+'}: "
    named = (rf"{re.escape(case.field)}(\.\S+)?: " if case.field else "")
    return ("clear" if result.exit_code == 2 and re.search(where + named, said) else "unclear"), said


def isolated_env(base: Path) -> dict[str, str]:
    """Environment for `try_case` outside pytest: a private Dagster home, no catalog or lineage overrides."""
    (base / "dagster_home").mkdir(parents=True, exist_ok=True)
    (base / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SYNTH_CATALOG", "SYNTH_DROP_DIR", "SYNTH_LINEAGE_DB", "SYNTH_STATE_DIR",
                                                           "OPENAI_API_KEY")}
    return {**env, "DAGSTER_HOME": str(base / "dagster_home"), "SYNTH_ROOT": str(base / "unused_root")}


def summary(outcomes: dict[str, str]) -> str:
    counts = {k: sum(1 for o in outcomes.values() if o == k) for k in ("clear", "unclear", "traceback", "registered")}
    return json.dumps({"tried": len(outcomes), **counts})


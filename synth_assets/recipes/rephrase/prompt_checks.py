"""The prompts of a rephrase experiment, checked against the data before it is registered.

Each prompt the stages will fill (the generation prompt, the free-text judge's or each judge
validator's, and their few-shot examples) is checked the way it will be filled: every placeholder
(a field path with an optional format, `core/prompt_values.py`) must name a value in every record of
the split, and the prompt must render. Errors blame the file, line and field that set the prompt and
name the record (split file and line) that does not fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synth_assets.core.config import Experiment
from synth_assets.core.fields import FieldPathError
from synth_assets.core.prompt_values import check_placeholders, check_template, placeholders, prompt_fields
from synth_assets.quality.validators.judge import example_values, judge_values
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.dataset_experiment_config import rewrite_fields, validation_examples, validation_prompt
from synth_assets.recipes.rephrase.checks import Blame, where_in_split
from synth_assets.recipes.rephrase.judging import resolved_validators
from synth_assets.recipes.rephrase.rewrite import rewrite_slots

Values = Callable[[dict[str, Any], str, str], dict[str, Any]]  # (record, text to rewrite, concrete path) -> prompt values
Fault = Callable[[str], ConfigError]  # message -> the error, blamed on where the prompt (or example) is set


def _generation_values(record: dict[str, Any], text: str, field: str) -> dict[str, Any]:
    return {**record, "text": text, "field_name": field}


def _judge_values(record: dict[str, Any], text: str, field: str) -> dict[str, Any]:
    return judge_values(record, text, text, field)


def check_template_on_rows(exp: Experiment, template: str, values: Values, rows: list[dict[str, Any]], fault: Fault) -> None:
    """The template names only fields the records have, every placeholder resolves in every record, and it renders."""
    first = next((slots[0] for slots in map(lambda row: rewrite_slots(exp, row), rows) if slots), None)
    if first is None:
        raise fault(f"the rewritten fields {rewrite_fields(exp)} name no value in any record of {exp.entry.name}")
    concrete, _, text = first
    try:
        compiled = placeholders(template)
    except ValueError as exc:
        raise fault(f"bad prompt template: {exc}") from None
    known = values(rows[0], text, concrete)
    unknown = sorted(shown.strip("{}") for shown, path, _ in compiled if path.root not in known)
    if unknown:
        raise fault(f"prompt references {unknown}, which dataset {exp.entry.name} lacks (it has: {sorted(known)})")
    for n, row in enumerate(rows):
        try:
            check_placeholders(compiled, values(row, text, concrete))
        except FieldPathError as exc:
            raise fault(f"{exc} (record at {where_in_split(exp, n)})") from None
    try:
        template.format_map(values(prompt_fields(rows[0]), text, concrete))
    except (KeyError, AttributeError, IndexError, ValueError, TypeError) as exc:
        raise fault(f"prompt does not render against a record of {exp.entry.name}: {type(exc).__name__}: {exc}") from None


def check_examples(template: str, examples: list[dict[str, Any]], fault: Callable[[str, int], ConfigError]) -> None:
    """Few-shot examples fill the same prompt with their own keys: every placeholder must be among them."""
    for j, example in enumerate(examples):
        try:
            check_template(template, example_values(example))
        except FieldPathError as exc:
            raise fault(f"example {j} cannot fill the prompt: {exc} (give the example that key)", j) from None


def _judge_fault(blame: Blame, i: int, key: str) -> Callable[..., ConfigError]:
    """A judge validator's prompt or examples are set on the validator, else on the validation section, else nowhere."""
    def fault(message: str, *index: int) -> ConfigError:
        for loc in (("validation", "validators", i, key), ("validation", key)):
            if loc in blame.lines:
                return blame.config(message, *loc, *index)
        return blame.config(message, "validation", "validators", i)
    return fault


def check_prompts(exp: Experiment, blame: Blame, rows: list[dict[str, Any]]) -> None:
    """The generation prompt, the judge prompts and their examples fit every record of the split."""
    check_template_on_rows(exp, exp.generation_prompt(), _generation_values, rows,
                           lambda message: blame.prompt(message, "generation", "prompt", "generation"))
    v = exp.config.validation
    if v is None:
        return
    if v.validators is None:
        prompt = validation_prompt(exp)
        check_template_on_rows(exp, prompt, _judge_values, rows,
                               lambda message: blame.prompt(message, "validation", "prompt", "validation"))

        def example_fault(message: str, j: int) -> ConfigError:
            if ("validation", "examples") in blame.lines:
                return blame.config(message, "validation", "examples", j)
            return exp.entry.error(message, "prompts", "validation_examples", j)
        check_examples(prompt, validation_examples(exp), example_fault)
        return
    for i, spec in enumerate(resolved_validators(exp)):
        if spec.kind != "judge":
            continue
        check_template_on_rows(exp, spec.prompt, _judge_values, rows, _judge_fault(blame, i, "prompt"))
        check_examples(spec.prompt, [e.model_dump(exclude_none=True) for e in spec.examples], _judge_fault(blame, i, "examples"))

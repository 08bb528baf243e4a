"""Rephrase, the validation side: validators judge every field's candidates, one is chosen or the original stays.

- `validation.validators` (all must accept), with `validation.select`: `first_accepted` judges candidate
  k only for fields whose candidates 0..k-1 were rejected; `best_score` judges them all and keeps the
  accepted one with the best score. A field none of whose candidates passes keeps its original text and
  counts as not rewritten. A candidate cut at max_tokens is rejected first (unless `allow_truncated`).
- No validators (configs registered before validators existed): the free-text judge of scheme synth/1
  on the first candidate; no validation section at all: the first usable candidate is kept.
"""

from __future__ import annotations

from typing import Any

from synth_assets.core.config import Experiment, Sampling
from synth_assets.core.fields import assign
from synth_assets.core.prompt_values import prompt_fields
from synth_assets.core.records import META
from synth_assets.quality.profile import Logistic
from synth_assets.quality.validators import AllOf, Candidate, Outcome, SpecDefaults, Verdict, build_validators, resolve_specs
from synth_assets.quality.validators.judge import example_values, judge_values
from synth_assets.recipes.base import StageRun
from synth_assets.recipes.dataset_experiment_config import validation_examples, validation_prompt
from synth_assets.recipes.dataset_experiment_stages import chat_request
from synth_assets.recipes.rephrase.rewrite import TRUNCATED

Slot = tuple[int, str]  # (row index, concrete field path)


def judge_defaults(exp: Experiment) -> SpecDefaults:
    """An unset judge prompt, system prompt or examples take the validation section's, else the built-ins."""
    v = exp.config.validation
    return SpecDefaults(prompt=v.prompt, system=v.system_prompt, examples=v.examples) if v else SpecDefaults()


def resolved_validators(exp: Experiment) -> list[Any]:
    return resolve_specs(exp.config.validation.validators or [], judge_defaults(exp))


def build(run: StageRun) -> AllOf | Logistic:
    """The experiment's validators, cheap ones first (an LLM judge only sees what the others accepted), or the
    profile's logistic combination (every validator sees every candidate)."""
    order = {"rules": 0, "inversion": 1, "vocabulary": 2, "similarity": 3, "logprob_judge": 4, "judge": 5}
    specs = sorted(resolved_validators(run.job), key=lambda s: order[s.kind])

    def chat_for(spec):
        sampling = Sampling(backend=spec.backend, model=spec.model)
        return lambda requests: run.chat(sampling, requests, label=f"judge {spec.name}")

    combine = run.job.config.validation.combine
    validators = build_validators(specs, chat_for=chat_for)
    return Logistic(validators, combine) if combine is not None and combine.kind == "logistic" else AllOf(validators)


def _usable(c: dict[str, Any], allow_truncated: bool) -> bool:
    return c["text"] is not None and (allow_truncated or c["finish_reason"] != "length")


def _score(outcome: Outcome, kinds: dict[str, str]) -> float:
    """An accepted candidate's score: a fitted profile's P(same), else the mean of its verdicts' scores, a judge's 1-5
    taken to 0-1 (vocabulary's word frequency and inversion's flip count are no such scores)."""
    fitted = [v.score for v in outcome.verdicts if v.validator == "profile" and v.score is not None]
    if fitted:
        return fitted[0]
    scores = [(v.score - 1) / 4 if kinds.get(v.validator) == "judge" else v.score for v in outcome.verdicts
              if v.score is not None and kinds.get(v.validator) not in ("vocabulary", "inversion")]
    return sum(scores) / len(scores) if scores else 0.0


def choose(run: StageRun, rows: list[dict], combined: AllOf) -> None:
    """Judge candidates (per `select`) and record every outcome and the chosen candidate in each field's provenance."""
    exp: Experiment = run.job
    allow = exp.config.generation.allow_truncated
    label_field = exp.entry.label_field
    slots = [(i, f) for i, row in enumerate(rows) for f in row[META]["fields"] if f not in row[META]["errors"]]
    kinds = {s.name: s.kind for s in resolved_validators(exp)}
    rounds = max((len(rows[i][META]["fields"][f]["candidates"]) for i, f in slots), default=0)
    best = exp.config.validation.select == "best_score"
    for i, f in slots:
        info = rows[i][META]["fields"][f]
        info["outcomes"] = [None] * len(info["candidates"])
        for k, c in enumerate(info["candidates"]):
            if c["text"] is not None and not _usable(c, allow):
                info["outcomes"][k] = Outcome(False, [Verdict("generation", False, None, TRUNCATED)]).to_dict()
    for k in range(rounds):
        todo = [(i, f) for i, f in slots if (best or rows[i][META]["fields"][f].get("chosen") is None)
                and k < len(rows[i][META]["fields"][f]["candidates"])
                and _usable(rows[i][META]["fields"][f]["candidates"][k], allow)]
        if not best and not todo:
            break
        row_fields = [prompt_fields(rows[i]) for i, _ in todo]
        candidates = [Candidate(original=rows[i][META]["fields"][f]["original"], rewrite=rows[i][META]["fields"][f]["candidates"][k]["text"],
                                field=f, row=fields, label_field=label_field,
                                finish_reason=None if allow else rows[i][META]["fields"][f]["candidates"][k]["finish_reason"])
                      for (i, f), fields in zip(todo, row_fields)]
        for (i, f), outcome in zip(todo, combined.judge(candidates) if candidates else []):
            info = rows[i][META]["fields"][f]
            info["outcomes"][k] = {**outcome.to_dict(), "score": _score(outcome, kinds)}
            if outcome.accepted and not best and info.get("chosen") is None:
                info["chosen"] = k
    if best:
        for i, f in slots:
            info = rows[i][META]["fields"][f]
            accepted = [(o["score"], -k) for k, o in enumerate(info["outcomes"]) if o and o["accepted"]]
            info["chosen"] = -max(accepted)[1] if accepted else None
    _count_failures(run, rows, slots)


def _count_failures(run: StageRun, rows: list[dict], slots: list[Slot]) -> None:
    """The failure policy of the validated stage counts judged candidates whose judge could not answer."""
    outcomes = [o for i, f in slots for o in rows[i][META]["fields"][f]["outcomes"] if o and o["verdicts"]]
    run.total_requests = len(outcomes)
    run.failed_requests = sum(any(v.get("failed") for v in o["verdicts"]) for o in outcomes)


def legacy_verdict(text: str | None) -> str:
    """'same', 'not the same' or 'unclear' from a free-text judge's answer (scheme synth/1)."""
    answer = " ".join((text or "").strip().lower().replace("’", "'").split())
    if answer.startswith(("no difference", "not different", "no change", "no meaningful difference")):
        return "same"
    if answer.startswith(("not", "no", "different")) or "not the same" in answer:
        return "not the same"
    if answer.startswith(("same", "yes")) or "same" in answer:
        return "same"
    return "unclear"


def legacy_judge(run: StageRun, rows: list[dict]) -> None:
    """The free-text judge on each field's first usable candidate (configs without `validators`)."""
    exp: Experiment = run.job
    v = exp.config.validation
    prompt = validation_prompt(exp)
    shots: list[dict[str, str]] = []
    for example in validation_examples(exp):
        shots.append({"role": "user", "content": prompt.format_map(example_values(example))})
        shots.append({"role": "assistant", "content": example["answer"]})
    jobs = []
    for i, row in enumerate(rows):
        for f, info in row[META]["fields"].items():
            first = next((k for k, c in enumerate(info["candidates"]) if _usable(c, exp.config.generation.allow_truncated)), None)
            info["outcomes"] = [None] * len(info["candidates"])
            if f in row[META]["errors"] or first is None:
                continue
            question = prompt.format_map(judge_values(prompt_fields(row), info["original"], info["candidates"][first]["text"], f))
            jobs.append((i, f, first, chat_request(v, shots + [{"role": "user", "content": question}])))
    responses = run.chat(v, [r for *_, r in jobs])
    for (i, f, k, _), response in zip(jobs, responses):
        said = legacy_verdict(response.text) if response.ok else f"error: {response.error}"
        verdict = Verdict("judge", said == "same", None, said, failed=not response.ok)
        info = rows[i][META]["fields"][f]
        info["outcomes"][k] = Outcome(verdict.accepted, [verdict]).to_dict()
        info["chosen"] = k if verdict.accepted else None


def keep_first_usable(run: StageRun, rows: list[dict]) -> None:
    """No validation at all: the first usable candidate of each field."""
    allow = run.job.config.generation.allow_truncated
    for row in rows:
        for info in row[META]["fields"].values():
            info["outcomes"] = [None] * len(info["candidates"])
            info["chosen"] = next((k for k, c in enumerate(info["candidates"]) if _usable(c, allow)), None)


def validate(run: StageRun, validators: AllOf | None = None) -> list[dict]:
    """The validated rows: each rewritten value holds its chosen rewrite or its original text, in place
    (`validators`: the experiment's, when already built)."""
    exp: Experiment = run.job
    rows = [{**r, META: {**r[META], "fields": {f: dict(info) for f, info in r[META]["fields"].items()}}} for r in run.upstream]
    v = exp.config.validation
    if v is None:
        keep_first_usable(run, rows)
    elif v.validators is None:
        legacy_judge(run, rows)
    else:
        choose(run, rows, validators or build(run))
    for index, row in enumerate(rows):
        meta = row[META]
        for f, info in meta["fields"].items():
            info.setdefault("chosen", None)
            info["rewritten"] = info["chosen"] is not None
            if info["rewritten"]:
                row = assign(row, f, info["candidates"][info["chosen"]]["text"])  # in place of the original, structure kept
        meta["accepted"] = not meta["errors"] and all(info["rewritten"] for info in meta["fields"].values())
        rows[index] = row
    return rows

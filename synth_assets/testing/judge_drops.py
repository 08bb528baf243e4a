"""A sample judge drop generator (hand-written sentences) for tests and `examples/translation_judge/`."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Mapping
from typing import Any

SAMPLE_MODELS = ("mt-large-v2", "mt-small-v1", "mt-legacy")

# (English source, good German translation, acceptable translation, bad translation) - hand-written
SAMPLE_SENTENCES: tuple[tuple[str, str, str, str], ...] = (
    (
        "The meeting has been moved to Thursday afternoon.",
        "Die Besprechung wurde auf Donnerstagnachmittag verschoben.",
        "Das Treffen wurde zu Donnerstag Nachmittag bewegt.",
        "Die Besprechung hat Donnerstag gegessen.",
    ),
    (
        "Please keep your receipt in case you need to return the item.",
        "Bitte bewahren Sie Ihren Kassenbon auf, falls Sie den Artikel zurückgeben müssen.",
        "Bitte behalten Sie Ihre Quittung, wenn Sie den Artikel zurückgeben brauchen.",
        "Bitte Ihren Rezept halten Fall Artikel.",
    ),
    (
        "The train to Munich is delayed by about twenty minutes.",
        "Der Zug nach München hat etwa zwanzig Minuten Verspätung.",
        "Der Zug nach München ist um ungefähr zwanzig Minuten verzögert.",
        "Der Zug nach Berlin fährt pünktlich.",
    ),
    (
        "Our support team is available around the clock.",
        "Unser Support-Team ist rund um die Uhr erreichbar.",
        "Unser Unterstützungsteam ist um die Uhr herum verfügbar.",
        "Unser Team ist die Uhr.",
    ),
    (
        "She forgot her umbrella, so she got soaked on the way home.",
        "Sie hatte ihren Regenschirm vergessen und wurde auf dem Heimweg klatschnass.",
        "Sie vergaß ihren Regenschirm, also sie wurde nass auf dem Weg nach Hause.",
        "She forgot her umbrella, so she got soaked on the way home.",
    ),
    (
        "Update the app to the latest version before logging in.",
        "Aktualisieren Sie die App vor der Anmeldung auf die neueste Version.",
        "Updaten Sie die App zu der letzten Version bevor Einloggen.",
        "Löschen Sie die App nach der Anmeldung.",
    ),
    (
        "The museum is closed on public holidays.",
        "Das Museum ist an Feiertagen geschlossen.",
        "Das Museum ist an öffentlichen Feiertagen zu.",
        "Das Museum ist an Feiertagen geöffnet.",
    ),
    (
        "Add the flour slowly and stir until the dough is smooth.",
        "Das Mehl langsam hinzufügen und rühren, bis der Teig glatt ist.",
        "Fügen Sie das Mehl langsam hinzu und rühren bis der Teig ist glatt.",
        "Blume langsam addieren und Teig rühren glatt.",
    ),
    (
        "Your order will be shipped within two business days.",
        "Ihre Bestellung wird innerhalb von zwei Werktagen versandt.",
        "Ihre Bestellung wird in zwei Geschäftstagen geschifft.",
        "Ihre Bestellung wurde storniert.",
    ),
    (
        "He has been learning Japanese for three years.",
        "Er lernt seit drei Jahren Japanisch.",
        "Er hat Japanisch für drei Jahre gelernt.",
        "Er lernte drei Japaner.",
    ),
    (
        "Children under six travel free of charge.",
        "Kinder unter sechs Jahren fahren kostenlos.",
        "Kinder unter sechs reisen frei von Gebühr.",
        "Kinder über sechzig zahlen doppelt.",
    ),
    (
        "The report must be submitted by the end of the month.",
        "Der Bericht muss bis Ende des Monats eingereicht werden.",
        "Der Bericht muss bei dem Ende des Monats abgegeben sein.",
        "Der Bericht ist das Ende.",
    ),
)

SAMPLE_REASONING = {
    "good": (
        "The translation conveys the full meaning of the source and reads naturally in German.",
        "Accurate, fluent and idiomatic; terminology and register match the source.",
        "No omissions or additions; word order and word choice are natural.",
    ),
    "acceptable": (
        "The meaning is preserved, but the phrasing is literal and slightly unidiomatic.",
        "Understandable and mostly accurate, with awkward word order and a questionable word choice.",
        "Minor grammatical errors; a native speaker would phrase it differently, but nothing is lost.",
    ),
    "bad": (
        "The translation changes the meaning of the source.",
        "Key information is missing and the sentence is ungrammatical.",
        "The output is not a usable translation of the source text.",
    ),
}

SAMPLE_SCORES = {"good": (4, 5), "acceptable": (3,), "bad": (1, 2)}
SAMPLE_DISTRIBUTION = {"good": 40, "acceptable": 15, "bad": 5}
CORRUPTIONS = ("bad_json", "missing_model_output", "unknown_label")


def judge_prompt(source: str, translation: str, model: str, *, source_lang: str = "English", target_lang: str = "German") -> str:
    """The judge prompt layout the parser expects (tagged sections after the instructions)."""
    return (
        f"You are an expert {source_lang}-{target_lang} translator judging machine translation quality.\n"
        "Read the source text and its machine translation below, explain your assessment, then rate the "
        "translation from 1 (unusable) to 5 (perfect).\n\n"
        f"<model>{model}</model>\n"
        f"<source>{source}</source>\n"
        f"<translation>{translation}</translation>\n\n"
        "Answer in the form <reasoning>your reasoning</reasoning><score>1-5</score>."
    )


def _allocate(n: int, distribution: Mapping[str, float]) -> list[str]:
    """Exactly n labels in the given proportions (largest remainder)."""
    total = float(sum(distribution.values()))
    if total <= 0:
        raise ValueError("distribution must have a positive total")
    shares = {k: n * v / total for k, v in distribution.items()}
    counts = {k: int(math.floor(s)) for k, s in shares.items()}
    for k in sorted(shares, key=lambda k: (counts[k] - shares[k], list(shares).index(k)))[: n - sum(counts.values())]:
        counts[k] += 1
    return [k for k, c in counts.items() for _ in range(c)]


def make_sample_drop(
    n: int,
    *,
    corrupt_lines: Iterable[int] = (),
    seed: int = 0,
    distribution: Mapping[str, float] | None = None,
    models: tuple[str, ...] = SAMPLE_MODELS,
) -> list[str]:
    """`n` lines of Bedrock batch output for a translation judge (Anthropic messages format), valid
    lines split across classes in `distribution` proportions (default 40/15/5 good/acceptable/bad).
    Line numbers in `corrupt_lines` (1-based) are corrupted, cycling through: bad JSON, missing
    modelOutput, unknown label ('mediocre'). Deterministic for a seed; lines without newlines."""
    corrupt = sorted(set(corrupt_lines))
    if any(not 1 <= c <= n for c in corrupt):
        raise ValueError(f"corrupt_lines must be within 1..{n}, got {corrupt}")
    rng = random.Random(seed)
    labels = _allocate(n - len(corrupt), distribution or SAMPLE_DISTRIBUTION)
    rng.shuffle(labels)
    kinds = {line: CORRUPTIONS[i % len(CORRUPTIONS)] for i, line in enumerate(corrupt)}
    label_iter = iter(labels)
    out = []
    for line_no in range(1, n + 1):
        kind = kinds.get(line_no)
        label = "acceptable" if kind else next(label_iter)
        src, good, acceptable, bad = SAMPLE_SENTENCES[rng.randrange(len(SAMPLE_SENTENCES))]
        translation = {"good": good, "acceptable": acceptable, "bad": bad}.get(label, good)
        model = models[rng.randrange(len(models))]
        score = rng.choice(SAMPLE_SCORES.get(label, (3,)))
        reasoning = rng.choice(SAMPLE_REASONING.get(label, SAMPLE_REASONING["acceptable"]))
        prompt = judge_prompt(src, translation, model)
        content: Any = [{"type": "text", "text": prompt}] if line_no % 4 else prompt  # some plain-string contents
        if kind == "unknown_label":
            answer = f"{reasoning}\nVerdict: mediocre"
        elif line_no % 5 == 0:
            answer = f"{reasoning}\nVerdict: {label.capitalize()}"  # verdict-only answers
        else:
            answer = f"<reasoning>{reasoning}</reasoning>\n<score>{score}</score>"
        record = {
            "recordId": f"rec-{seed:04d}-{line_no:06d}",
            "modelInput": {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 512,
                "messages": [{"role": "user", "content": content}],
            },
            "modelOutput": {
                "id": f"msg_{seed:04d}{line_no:06d}",
                "type": "message",
                "role": "assistant",
                "model": "judge-model",
                "content": [{"type": "text", "text": answer}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 120 + len(prompt) // 4, "output_tokens": 20 + len(answer) // 4},
            },
        }
        if kind == "missing_model_output":
            del record["modelOutput"]
        line = json.dumps(record, ensure_ascii=False)
        if kind == "bad_json":
            line = line[: len(line) // 2]  # truncated mid-object
        out.append(line)
    return out

"""Tests for the "template + k-shot stories" recipe building blocks (no LLM, no network)."""

import pytest

from synth_assets.recipes.stories import blocks as st

SAMPLE = st.SAMPLE_DIR
TEMPLATE = 'Story (max {max_words} words) with "{word1}", "{word2}", "{word3}". {additional_condition}'


@pytest.fixture(scope="module")
def vocab():
    return st.load_vocabulary(SAMPLE / "vocabulary.txt")


@pytest.fixture(scope="module")
def features():
    return st.load_features(SAMPLE / "features.json")


def _prompts(vocab, features, seed, count=20, template=TEMPLATE):
    return st.build_story_prompts(
        template=template, vocabulary=vocab, features=features, count=count, seed=seed, max_words=120
    )


# ---------------------------------------------------------------- sample files


def test_sample_files_load(vocab, features):
    assert 50 <= len(vocab) <= 80
    assert len({w.lower() for w in vocab}) == len(vocab)
    assert all(" " not in w and not w.startswith("#") for w in vocab)
    assert 6 <= len(features) <= 12 and all(isinstance(f, str) and f for f in features)
    template = st.load_template(SAMPLE / "template.txt")
    assert st.check_template(template) == st.ALLOWED_PLACEHOLDERS


def test_example_conversation_alternates():
    messages = st.parse_example_conversation(SAMPLE / "examples.txt")
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert all(m["content"] and m["content"] == m["content"].strip() for m in messages)
    assert "\n" in messages[1]["content"]  # multi-line assistant turn kept together
    assert not any("#" in m["content"] or "User:" in m["content"] for m in messages)


def test_parse_multiline_and_blank_tolerant(tmp_path):
    f = tmp_path / "conv.txt"
    f.write_text("# comment\n\nuser: hi\nthere\n\n\nASSISTANT:\n\nline one\n\nline two\n\n")
    assert st.parse_example_conversation(f) == [
        {"role": "user", "content": "hi\nthere"},
        {"role": "assistant", "content": "line one\n\nline two"},
    ]


# ---------------------------------------------------------------- prompts


def test_prompts_deterministic_per_seed(vocab, features):
    a, b, c = _prompts(vocab, features, 7), _prompts(vocab, features, 7), _prompts(vocab, features, 8)
    assert a == b
    assert a != c
    assert [p["prompt_id"] for p in a] == [f"p{i:04d}" for i in range(20)]


def test_prompt_words_distinct_from_vocab_and_rendered(vocab, features):
    for p in _prompts(vocab, features, 3, count=50):
        words = p["selected_words"]
        assert len(words) == 3 and len(set(words)) == 3
        assert set(words) <= set(vocab)
        assert p["additional_condition"] in features
        for w in words:
            assert f'"{w}"' in p["prompt"]
        assert "max 120 words" in p["prompt"] and p["additional_condition"] in p["prompt"]
        assert "{" not in p["prompt"]


def test_sample_template_renders(vocab, features):
    template = st.load_template(SAMPLE / "template.txt")
    (p,) = _prompts(vocab, features, 1, count=1, template=template)
    assert "at most 120 words" in p["prompt"] and "{" not in p["prompt"]


@pytest.mark.parametrize("bad", ["{word4}", "{name}", "{}", "{word1.upper}"])
def test_unknown_placeholder_rejected(vocab, features, bad):
    with pytest.raises(ValueError, match="placeholder") as exc:
        _prompts(vocab, features, 1, template=TEMPLATE + " " + bad)
    if bad != "{}":
        assert bad in str(exc.value)


def test_template_errors_name_file(tmp_path):
    f = tmp_path / "template.txt"
    f.write_text("Use {word1} {word2} {word3} and {colour}.\n")
    with pytest.raises(ValueError, match=r"template\.txt: unknown template placeholder \{colour\}"):
        st.load_template(f)


def test_too_small_vocabulary(features):
    with pytest.raises(ValueError, match="at least 3 distinct"):
        _prompts(["dog", "Dog", "cat"], features, 1)


def test_story_messages():
    k_shot = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    msgs = st.story_messages("go", k_shot, system="Be kind.")
    assert msgs == [
        {"role": "system", "content": "Be kind."},
        *k_shot,
        {"role": "user", "content": "go"},
    ]
    assert st.story_messages("go", []) == [{"role": "user", "content": "go"}]


# ---------------------------------------------------------------- validators


GOOD = (
    "The little dog found a red ball in the garden. "
    "He jumped and played until the moon came up. "
    "Then he curled up in his warm bed and fell asleep. Good night, dog."
)


def test_good_story_passes():
    r = st.validate_story(GOOD, selected_words=["dog", "ball", "moon"], max_words=60)
    assert r["passed"] and r["reasons"] == [] and r["missing_words"] == []
    assert r["word_count"] == st.count_words(GOOD) and not r["too_long"]
    assert r["quality_score"] == 1.0


def test_too_long():
    r = st.validate_story(GOOD, selected_words=["dog"], max_words=10)
    assert not r["passed"] and r["too_long"] and "too long" in r["reasons"][0]


def test_missing_word_case_insensitive_and_boundaries():
    r = st.validate_story("The DOG saw a catalog. Then a hat.", selected_words=["dog", "cat", "hat"], max_words=50)
    assert r["missing_words"] == ["cat"]  # "catalog" is not "cat"
    assert not r["passed"] and "cat" in r["reasons"][0]


@pytest.mark.parametrize(
    "word, text",
    [
        ("dog", "Two dogs ran."),
        ("box", "Many boxes."),
        ("jump", "She jumped high."),
        ("sing", "Birds were singing."),
        ("dance", "They were dancing and danced."),
        ("bunny", "The bunnies slept."),
        ("hop", "The frog was hopping."),
        ("cat", "The cat's hat."),
    ],
)
def test_inflections_accepted(word, text):
    assert st.validate_story(text, selected_words=[word], max_words=50)["missing_words"] == []


def test_quality_score_ordering():
    words = ["dog", "ball", "moon"]
    score = lambda t: st.validate_story(t, selected_words=words, max_words=60)["quality_score"]
    good = score(GOOD)
    missing = score("The little dog played in the garden. Then he went to sleep in his bed.")
    bad = score("As an AI, I wrote about a {word1}")
    assert good > missing > bad
    assert 0.0 <= bad <= 1.0
    assert score(GOOD) == good  # deterministic


def test_empty_story_fails():
    r = st.validate_story("   ", selected_words=[], max_words=10)
    assert not r["passed"] and r["word_count"] == 0 and "empty story" in r["reasons"]


# ---------------------------------------------------------------- records


def test_story_record(vocab, features):
    (p,) = _prompts(vocab, features, 5, count=1)
    rec = st.story_record(index=12, prompt=p, content=" One two three. ", generation_time=2.0,
                          tokens_generated=50, k_shot_count=2)
    assert rec == {
        "story_id": "s0012",
        "prompt_id": "p0000",
        "content": "One two three.",
        "word_count": 3,
        "generation_time": 2.0,
        "tokens_generated": 50,
        "tokens_per_second": 25.0,
        "metadata": {"selected_words": p["selected_words"],
                     "additional_condition": p["additional_condition"], "k_shot_count": 2},
    }
    zero = st.story_record(index=0, prompt=p, content="x", generation_time=0, tokens_generated=5, k_shot_count=0)
    assert zero["tokens_per_second"] == 0.0 and zero["story_id"] == "s0000"


# ---------------------------------------------------------------- bad input files


@pytest.mark.parametrize(
    "text, match",
    [
        ("dog\n# ok\n\nteddy bear\n", r"vocab\.txt:4: expected a single word"),
        ("dog\ncat\nDog\n", r"vocab\.txt:3: duplicate word 'Dog' \(first on line 1\)"),
        ("# only comments\n\n", r"vocab\.txt: vocabulary is empty"),
        ("dog\nca7\n", r"vocab\.txt:2:"),
    ],
)
def test_bad_vocabulary(tmp_path, text, match):
    f = tmp_path / "vocab.txt"
    f.write_text(text)
    with pytest.raises(ValueError, match=match):
        st.load_vocabulary(f)


@pytest.mark.parametrize(
    "text, match",
    [
        ('[\n  "a",\n  "b"\n  "c"\n]', r"feat\.json:4:3: invalid JSON"),
        ('{"a": 1}', r"feat\.json: expected a JSON list of strings, got dict"),
        ('["ok", 3]', r"feat\.json: item \[1\] must be a non-empty string"),
        ("[]", r"feat\.json: features list is empty"),
    ],
)
def test_bad_features(tmp_path, text, match):
    f = tmp_path / "feat.json"
    f.write_text(text)
    with pytest.raises(ValueError, match=match):
        st.load_features(f)


@pytest.mark.parametrize(
    "text, match",
    [
        ("# header\nhello\nUser: hi\nAssistant: yo\n", r"conv\.txt:2: content before the first"),
        ("User: hi\nUser: again\nAssistant: yo\n", r"conv\.txt:2: unbalanced turns"),
        ("Assistant: yo\n", r"conv\.txt:1: unbalanced turns"),
        ("User: hi\nAssistant: yo\n\nUser: dangling\n", r"conv\.txt:4: unbalanced turns"),
        ("User: hi\nAssistant:\n\n", r"conv\.txt:2: empty assistant turn"),
        ("# nothing\n", r"conv\.txt: no 'User:'/'Assistant:' turns"),
    ],
)
def test_bad_conversation(tmp_path, text, match):
    f = tmp_path / "conv.txt"
    f.write_text(text)
    with pytest.raises(ValueError, match=match):
        st.parse_example_conversation(f)


def test_missing_file_named(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.txt: cannot read file"):
        st.load_vocabulary(tmp_path / "nope.txt")

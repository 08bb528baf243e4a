"""The API key never reaches disk."""

from __future__ import annotations

import os

from tests.llm.conftest import user

MARKER = "sk-MARKER-d41d8cd98f00b204e9800998ecf8427e"


def test_api_key_is_not_written_anywhere(fake, make_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", MARKER)
    monkeypatch.setenv("SYNTH_ROOT", str(tmp_path / "root"))
    fake.control(rules={"bad": {"status": 400}})
    llm = make_llm(cache_path=None)
    llm.chat([user("hello"), user("bad"), {**user("more"), "n": 2}])
    llm.chat([user("hello")])
    assert (tmp_path / "root" / ".cache" / "llm_cache.sqlite").exists()
    files = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs]
    assert files
    for path in files:
        with open(path, "rb") as fh:
            assert MARKER.encode() not in fh.read(), path

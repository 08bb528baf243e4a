"""The LLM client and what uses it outside Dagster load without Dagster (the resource is `resources/llm.py`)."""

import subprocess
import sys

PLAIN = ["synth_assets.llm", "synth_assets.llm.client", "synth_assets.llm.embeddings", "synth_assets.core.models",
         "synth_assets.quality.validators.judge", "synth_assets.quality.validators.logprob_judge",
         "synth_assets.quality.validators.similarity"]


def test_the_client_and_the_validators_import_no_dagster():
    code = f"import sys\nfor m in {PLAIN!r}: __import__(m)\n" \
           "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'resources')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_resource_is_the_client():
    from resources.llm import LLMResource
    from synth_assets.llm.client import LLMClient

    resource = LLMResource(backend="openai", model="gpt-4.1")
    assert isinstance(resource, LLMClient)
    assert resource.resolved_model() == LLMClient(backend="openai", model="gpt-4.1").resolved_model() == "gpt-4.1"
    assert set(LLMResource.model_fields) == set(LLMClient.model_fields)

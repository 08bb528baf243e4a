"""`LLMResource`: the LLM client (`synth_assets.llm.client.LLMClient`) as a Dagster resource."""

from __future__ import annotations

from dagster import ConfigurableResource

from synth_assets.llm.client import LLMClient


class LLMResource(ConfigurableResource, LLMClient):
    """The client's settings as resource config; every method is the client's, so code given the resource
    types against `LLMClient`."""

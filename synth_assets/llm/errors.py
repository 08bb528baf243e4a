"""Errors raised by the LLM layer before any request is sent."""


class LLMConfigError(ValueError):
    """Invalid resource configuration or request batch (raised before any request is sent)."""

"""One "machine" of the shared-cache test: `python -m tests.distributed.cache_client BASE_URL ROOT N`.

Sends N chat requests through the LLM resource the store's definitions configure for ROOT (the
cache `$SYNTH_LLM_CACHE` selects: the store itself for `s3://` roots); prints the usage."""

import sys

from synth_assets.defs.store import llm_resource


def main() -> None:
    base_url, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    llm = llm_resource(root).model_copy(update={"backend": "openai", "base_url": base_url, "max_in_flight": 4, "timeout_s": 60})
    result = llm.chat([{"messages": [{"role": "user", "content": f"item {i}"}]} for i in range(n)])
    print(f"cache_hits={result.usage.cache_hits} failures={result.usage.failures}")


if __name__ == "__main__":
    main()

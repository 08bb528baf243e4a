"""Client process for the crash-resume test: `python -m tests.llm.crash_client BASE_URL CACHE_PATH N`."""

import sys

from synth_assets.llm.client import LLMClient


def main() -> None:
    base_url, cache_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    llm = LLMClient(backend="openai", base_url=base_url, cache_path=cache_path, max_in_flight=4, timeout_s=60)
    result = llm.chat([{"messages": [{"role": "user", "content": f"item {i}"}]} for i in range(n)])
    print(f"cache_hits={result.usage.cache_hits} failures={result.usage.failures}")


if __name__ == "__main__":
    main()

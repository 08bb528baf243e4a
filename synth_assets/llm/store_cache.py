"""The LLM request cache as objects in the shared store, so that every worker of every machine sees it.

Each response is one object `.synth/llm_cache/{key[:2]}/{key}.json`, written (one atomic PUT or
rename) by a small pool of threads the moment it arrives, so a worker killed mid-call keeps every
response it received; `close()` waits for the writes in flight. A call reads its keys back in bulk
(parallel GETs) before sending anything, so a step retried on another machine sends only the
requests that never completed.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Iterable

from synth_assets.core.store import Store
from synth_assets.core.stores import open_store

PREFIX = ".synth/llm_cache"
log = logging.getLogger("synth.llm")


def object_key(key: str) -> str:
    return f"{PREFIX}/{key[:2]}/{key}.json"


class StoreResponseCache:
    """Key -> response dict over `Store` primitives (a local folder or `s3://`)."""

    def __init__(self, store: "Store | str", *, readers: int = 32, writers: int = 8):
        if isinstance(store, str):
            store = open_store(store)
        self.store = store
        self.readers = readers
        self._writes = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="llm-cache-put")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self.failed_writes = 0

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.readers, len(keys)), thread_name_prefix="llm-cache-get") as pool:
            values = pool.map(self._get, keys)
            return {key: value for key, value in zip(keys, values) if value is not None}

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.store.read_bytes(object_key(key)))
        except FileNotFoundError:
            return None
        except ValueError:  # unreadable object: ask the LLM again (the new answer replaces it)
            log.warning(f"LLM cache object {self.store.uri(object_key(key))} is not JSON; ignored")
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Persist one response now (in a writer thread); never blocks the caller's event loop."""
        data = json.dumps(value, ensure_ascii=False).encode("utf-8")
        future = self._writes.submit(self.store.write_bytes, object_key(key), data)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._written)

    def _written(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)
        error = future.exception()
        if error is not None:  # the response is still returned; only a later retry would pay for it again
            self.failed_writes += 1
            log.warning(f"LLM cache write to {self.store.uri(PREFIX)} failed: {type(error).__name__}: {error}")

    def flush(self) -> None:
        """Wait until every response put so far is written (or failed)."""
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                future.exception()

    def close(self) -> None:
        self.flush()
        self._writes.shutdown(wait=True)

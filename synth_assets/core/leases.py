"""Claims on work: one worker per stage fingerprint, across processes and machines.

A claim is a sequence of lease objects `.synth/leases/{key}/{n}` in the store. Taking generation
`n + 1` is a create-if-absent (`O_EXCL` locally, `If-None-Match: *` on S3), so exactly one waiter
wins it. The holder rewrites its lease's expiry from a heartbeat thread; a lease that is released,
or expired because its holder died, may be taken over. Waiters poll until the work is done (then
they reuse it) or the lease can be taken.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from synth_assets.core.faults import kill_point
from synth_assets.core.processes import alive


class LeaseStore(Protocol):
    """The storage primitives a claim uses (every `synth_assets.core.store.Store` has them)."""

    def read_bytes(self, key: str) -> bytes: ...

    def write_bytes(self, key: str, data: bytes) -> None: ...

    def create_exclusive(self, key: str, data: bytes) -> bool: ...

    def delete(self, key: str) -> None: ...

    def children(self, prefix: str) -> list[str]: ...


def lease_ttl_s() -> float:
    """Seconds a lease lives without a heartbeat (`$SYNTH_LEASE_TTL_S`, default 60)."""
    return float(os.environ.get("SYNTH_LEASE_TTL_S") or 60)


class Lease:
    """A held claim; renewed every ttl/3 until released."""

    def __init__(self, store: LeaseStore, prefix: str, generation: int, ttl_s: float):
        self.store, self.prefix, self.generation, self.ttl_s = store, prefix, generation, ttl_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease {prefix}", daemon=True)

    @property
    def key(self) -> str:
        return f"{self.prefix}/{self.generation}"

    def body(self, released: bool = False) -> bytes:
        return json.dumps({"owner": self.owner, "expires": time.time() + self.ttl_s, "released": released}).encode()

    def start(self) -> "Lease":
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.store.write_bytes(self.key, self.body())
            except OSError:  # a full disk: the next beat tries again (the lease expires if none succeeds)
                continue

    def release(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.store.write_bytes(self.key, self.body(released=True))
        except OSError:  # a full disk: deleting the lease releases it too (a waiter then takes generation 0)
            self.store.delete(self.key)

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _live(store: LeaseStore, key: str) -> bool | None:
    """Whether a lease object is held and unexpired (None: it vanished meanwhile). One that cannot be read (a writer
    died creating it, before creation was atomic) holds nothing: the next generation may be taken."""
    try:
        state = json.loads(store.read_bytes(key))
    except FileNotFoundError:
        return None
    except ValueError:
        return False
    if not isinstance(state, dict) or state.get("released") or state.get("expires", 0) <= time.time():
        return False
    return not _dead_here(str(state.get("owner", "")))


def _dead_here(owner: str) -> bool:
    """The owner `host:pid:nonce` ran on this machine and its process is gone (killed): no need to wait for the expiry."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not alive(int(pid))


def claim(store: LeaseStore, key: str, done: Callable[[], bool], *, ttl_s: float | None = None, poll_s: float = 0.5,
          on_wait: Callable[[str], None] | None = None) -> Lease | None:
    """The lease on `key`, or None when `done()` holds (someone else did the work) before or after taking it."""
    ttl = ttl_s or lease_ttl_s()
    prefix = f".synth/leases/{key}"
    if done():
        return None
    first = Lease(store, prefix, 0, ttl)
    if store.create_exclusive(first.key, first.body()):  # nobody ever claimed it: no listing needed
        if done():
            first.release()
            return None
        return first.start()
    told = False
    while True:
        if done():
            return None
        generations = sorted(int(n) for n in store.children(prefix) if n.isdigit())
        last = generations[-1] if generations else -1
        live = _live(store, f"{prefix}/{last}") if last >= 0 else False
        if live is None:
            continue
        if live:
            if on_wait and not told:
                on_wait(f"{key} is being made by another worker; waiting for it (or for its lease to expire)")
                told = True
                kill_point("waiting_on_lease")
            time.sleep(poll_s)
            continue
        lease = Lease(store, prefix, last + 1, ttl)
        if store.create_exclusive(lease.key, lease.body()):
            for old in generations:
                store.delete(f"{prefix}/{old}")
            if done():
                lease.release()
                return None
            return lease.start()


def held(store: LeaseStore, key: str) -> bool:
    """Someone holds an unexpired lease on `key` now (its work is under way)."""
    prefix = f".synth/leases/{key}"
    generations = sorted(int(n) for n in store.children(prefix) if n.isdigit())
    return bool(generations) and bool(_live(store, f"{prefix}/{generations[-1]}"))

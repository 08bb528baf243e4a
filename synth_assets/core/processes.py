"""Whether a process of this machine is still running (for holders of leases and runs killed with their process)."""

from __future__ import annotations

import os


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True

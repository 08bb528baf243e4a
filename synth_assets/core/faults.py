"""Named kill points for fault-injection tests: `kill_point("mid_publish")` kills the process group of the running
command with SIGKILL when `$SYNTH_KILL_AT` names that point (comma-separated names), else does nothing.

Points: after_registration, mid_{stage} (a stage computed, not yet stored), mid_publish (the new `_shared` copy
written, without its marker), at_shared_swap (complete, about to be swapped in), after_shared_swap (swapped in,
rebuilt stages not yet promoted), waiting_on_lease (another worker holds the claim).
"""

from __future__ import annotations

import os
import signal

KILL_AT = "SYNTH_KILL_AT"


def kill_point(name: str) -> None:
    if name in (os.environ.get(KILL_AT) or "").split(","):
        os.killpg(os.getpgrp(), signal.SIGKILL)

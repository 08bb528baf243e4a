"""One "machine" racing for stage claims: `python -m tests.distributed.claim_racer ROOT NAME START_AT N WORK_S`.

At wall time START_AT it claims the stages `Race/generated/{fp_i}` (i < N) one after the other, the
way the stage builder does: reuse when complete, else compute under the lease (WORK_S seconds),
leaving a marker `race/{i}/{NAME}` when it starts computing. Prints {i: computed|reused} as JSON."""

import json
import sys
import time

from synth_assets.core.stores import open_store


def fingerprint(i: int) -> str:
    return f"{i:02d}" + "f" * 62


def main() -> None:
    root, name, start_at, n, work_s = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    store = open_store(root)
    time.sleep(max(0.0, start_at - time.time()))
    outcome = {}
    for i in range(n):
        fp = fingerprint(i)
        lease = store.claim(store.stage_key("Race", "generated", fp), lambda: store.stage_complete("Race", "generated", fp))
        if lease is None:
            outcome[i] = "reused"
            continue
        with lease:
            store.write_bytes(f"race/{i}/{name}", b"")
            time.sleep(work_s)
            store.write_stage("Race", "generated", fp, [{"by": name}], {})
        outcome[i] = "computed"
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main()

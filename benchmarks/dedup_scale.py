"""Dedup at scale: exact dedup of 1M prompts, and the blocked DBSCAN fast path vs sklearn.

    .venv/bin/python benchmarks/dedup_scale.py                      # N=50k vs sklearn, exact 1M, 1M extrapolation
    (benchmarks/dedup_libraries.py runs semantic dedup of 1M prompts for real, with partition-then-exact)
    .venv/bin/python benchmarks/dedup_scale.py --n 10000 --exact-n 100000 --extrapolate-n 0   # quick

Vectors: synthetic but realistic for dedup: random unit vectors in 384 dims (MiniLM's size) plus
planted near-duplicate groups (a base vector and 1-5 noisy copies at cosine distance ~0.01-0.3).
Prints one table; every ratio is measured in this run. Peak RSS is the process high-water mark
measured right after each phase (sklearn runs last so it does not inflate ours).
"""

from __future__ import annotations

import argparse
import random
import resource
import string
import time

import numpy as np


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def planted_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n_dup = int(n * 0.3)
    X = rng.standard_normal((n, dim)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    sources = rng.integers(0, n - n_dup, size=n_dup)
    noise = rng.uniform(0.1, 0.9, size=(n_dup, 1)).astype(np.float32)  # cosine distance ~ noise^2 / 2 .. spread around eps
    X[n - n_dup:] = X[sources] + rng.standard_normal((n_dup, dim)).astype(np.float32) * noise / np.sqrt(dim)
    return X[rng.permutation(n)]


def synthetic_prompts(n: int, seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    words = ["".join(rnd.choices(string.ascii_lowercase, k=rnd.randint(2, 9))) for _ in range(5000)]
    base = [" ".join(rnd.choices(words, k=rnd.randint(8, 30))) + "?" for _ in range(int(n * 0.8))]
    out = base + [rnd.choice(base).replace(" ", "  ", 1) + " " for _ in range(n - len(base))]  # whitespace variants
    rnd.shuffle(out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--eps", type=float, default=0.2)
    p.add_argument("--min-samples", type=int, default=2)
    p.add_argument("--screen", choices=["int8", "fp32", "fp16", "all"], default="all")
    p.add_argument("--skip-sklearn", action="store_true")
    p.add_argument("--exact-n", type=int, default=1_000_000, help="prompts for the exact-dedup timing (0: skip)")
    p.add_argument("--extrapolate-n", type=int, default=1_000_000, help="time the first rows of an N-row blocked run and extrapolate (0: skip)")
    p.add_argument("--extrapolate-rows", type=int, default=4096)
    args = p.parse_args()

    from synth_assets.recipes.curation.cluster import dbscan_from_pairs, radius_pairs, representatives
    from synth_assets.recipes.curation.merge import exact_dedup

    rows = []
    if args.exact_n:
        prompts = synthetic_prompts(args.exact_n)
        t = time.perf_counter()
        keep = exact_dedup(prompts)
        took = time.perf_counter() - t
        rows.append(("exact dedup (Arrow + DuckDB, normalised text)", args.exact_n, f"{took:.2f} s", f"{rss_mb():.0f} MB",
                     f"kept {int(keep.sum())}", "<= 5 s: " + ("PASS" if took <= 5 else "FAIL")))
        del prompts

    X = planted_vectors(args.n, args.dim)
    screens = ["int8", "fp32", "fp16"] if args.screen == "all" else [args.screen]
    for screen in screens:
        radius_pairs(X[:1024], args.eps, screen=screen)  # warm up (torch import, threads, kernels)
    results = {}
    for screen in screens:
        t = time.perf_counter()
        I, J, _ = radius_pairs(X, args.eps, screen=screen)
        labels = dbscan_from_pairs(len(X), I, J, args.min_samples)
        took = time.perf_counter() - t
        results[screen] = (labels, took)
        rows.append((f"fast DBSCAN ({screen} tiles)", args.n, f"{took:.2f} s", f"{rss_mb():.0f} MB",
                     f"kept {int(representatives(labels).sum())}, pairs {len(I)}", ""))
    if not args.skip_sklearn:
        from sklearn.cluster import DBSCAN

        t = time.perf_counter()
        ref = DBSCAN(eps=args.eps, min_samples=args.min_samples, metric="cosine", n_jobs=-1).fit(X).labels_
        took_sk = time.perf_counter() - t
        rows.append(("sklearn DBSCAN(metric='cosine', n_jobs=-1)", args.n, f"{took_sk:.2f} s", f"{rss_mb():.0f} MB",
                     f"kept {int(representatives(ref).sum())}", ""))
        for screen, (labels, took) in results.items():
            same = np.array_equal(labels, ref)
            rows.append((f"  speed-up {screen} vs sklearn", args.n, f"{took_sk / took:.1f}x", "",
                         f"labels identical: {same}", ">= 10x: " + ("PASS" if took_sk / took >= 10 and same else "FAIL")))
    if args.extrapolate_n:
        del X
        big = planted_vectors(args.extrapolate_n, args.dim, seed=1)
        screen = screens[-1]
        t = time.perf_counter()
        radius_pairs(big, args.eps, max_rows=args.extrapolate_rows, screen=screen)
        took = time.perf_counter() - t
        # the first rows of the upper triangle scan all N columns; the whole triangle is ~N/2 columns per row on average
        full = took * (args.extrapolate_n / args.extrapolate_rows) / 2
        rows.append((f"blocked run, first {args.extrapolate_rows} rows ({screen})", args.extrapolate_n, f"{took:.2f} s",
                     f"{rss_mb():.0f} MB", f"extrapolated full run: {full / 60:.1f} min", "memory: vectors + 1 tile + pairs"))

    widths = [max(len(str(r[i])) for r in rows + [("step", "N", "time", "peak RSS", "result", "target")]) for i in range(6)]
    header = ("step", "N", "time", "peak RSS", "result", "target")
    print(" | ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(v).ljust(w) for v, w in zip(r, widths)))


if __name__ == "__main__":
    main()

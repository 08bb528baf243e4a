"""PNG charts (matplotlib, Agg) and their markdown embedding for the Dagster UI."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def sweep_chart(table: list[dict], chosen_eps: float, path: Path, total: int) -> Path:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=90)
    eps = [r["eps"] for r in table]
    ax.plot(eps, [r["kept"] for r in table], marker="o")
    ax.axvline(chosen_eps, color="tab:red", linestyle="--", label=f"eps = {chosen_eps:g}")
    ax.axhline(total, color="grey", linestyle=":", label=f"before: {total}")
    ax.set_xlabel("eps (cosine distance)")
    ax.set_ylabel("rows kept")
    ax.set_title("Semantic dedup: rows kept vs eps")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def size_histogram(sizes: np.ndarray, path: Path) -> Path:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=90)
    if sizes.size:
        bins = np.unique(np.geomspace(2, max(int(sizes.max()), 3) + 1, num=30).astype(int))
        ax.hist(sizes, bins=bins)
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no clusters", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("cluster size")
    ax.set_ylabel("clusters")
    ax.set_title("Cluster sizes")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown_image_bytes(png: bytes, alt: str) -> str:
    """A markdown image with the PNG inline (data: URI), which the Dagster UI renders."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"



def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "_empty_"
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


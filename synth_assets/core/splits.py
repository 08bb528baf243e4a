"""The split files of a shared experiment, as `{split: key}`.

Layouts: `{Dataset}/{dataset}_{split}.jsonl` (rephrase and stories experiments, curation outputs
where each format is a split, legacy trees) and `{split}set/{split}.jsonl` (translation-judge).
"""

from __future__ import annotations

from synth_assets.core.store import Store

_ORDER = ("train", "validation", "test")


def _ordered(splits: dict[str, str]) -> dict[str, str]:
    return dict(sorted(splits.items(), key=lambda kv: (_ORDER.index(kv[0]) if kv[0] in _ORDER else len(_ORDER), kv[0])))


def split_keys(store: Store, dataset: str, name: str) -> dict[str, str]:
    """Every split file of `_shared/{dataset}/{name}`, train, validation, test first; empty when it has none."""
    prefix = store.files_key(dataset, name)
    stem, found = f"{dataset.lower()}_", {}
    for file in store.children(f"{prefix}/{dataset}"):
        if file.startswith(stem) and file.endswith(".jsonl") and len(file) > len(stem) + len(".jsonl"):
            found[file[len(stem):-len(".jsonl")]] = f"{prefix}/{dataset}/{file}"
    for folder in store.children(prefix):
        split = folder[: -len("set")]
        if folder.endswith("set") and split and f"{split}.jsonl" in store.children(f"{prefix}/{folder}"):
            found[split] = f"{prefix}/{folder}/{split}.jsonl"
    return _ordered(found)

"""Provenance: from a file back through the materializations that made it to the experiment config."""

from __future__ import annotations

import os
from collections.abc import Callable

import duckdb

from synth_assets.core.lineage.values import rows as _rows


def _find(con, paths, asset=None, partition=None, before=None) -> dict | None:
    """Latest materialization of one of ``paths`` (else asset+partition),
    preferring those recorded before materialization id ``before``."""
    order = "ORDER BY (id < ?) DESC, id DESC LIMIT 1"
    hit = _rows(con.execute(
        f"SELECT * FROM materializations WHERE list_contains(?, path) {order}",
        [paths, before or 2 ** 62]))
    if not hit and asset is not None:
        hit = _rows(con.execute(
            "SELECT * FROM materializations WHERE asset = ? AND "
            f"partition_key IS NOT DISTINCT FROM ? {order}",
            [asset, partition, before or 2 ** 62]))
    return hit[0] if hit else None


def _candidates(path: str | None) -> list[str]:
    return list(dict.fromkeys([path, os.path.realpath(path)])) if path else []


def trace(con: duckdb.DuckDBPyConnection, path: str,
          experiment: Callable[[duckdb.DuckDBPyConnection, str], dict | None]) -> list[dict]:
    """Steps for ``path``: its writer and upstream chain (depth first), then one step per experiment."""
    steps, seen, fingerprints = [], set(), []
    stack = [_find(con, _candidates(path))]
    while stack:
        mat = stack.pop()
        if mat is None or mat["id"] in seen:
            continue
        seen.add(mat["id"])
        edges = _rows(con.execute(
            """SELECT upstream_asset, upstream_partition, upstream_path
               FROM lineage_edges WHERE materialization_id = ?
               ORDER BY rowid""", [mat["id"]]))
        steps.append({"kind": "materialization", **mat, "upstream": edges})
        if mat["fingerprint"] and mat["fingerprint"] not in fingerprints:
            fingerprints.append(mat["fingerprint"])
        stack.extend(_find(con, _candidates(e["upstream_path"]), e["upstream_asset"],
                           e["upstream_partition"], mat["id"])
                     for e in reversed(edges))
    for fp in fingerprints:
        exp = experiment(con, fp)
        if exp is not None:
            steps.append({"kind": "experiment", **exp})
    return steps

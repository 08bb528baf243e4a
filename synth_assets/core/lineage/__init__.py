"""Lineage: which batch first produced a fingerprint, who reuses it, what each file was made from,
what it cost. A local DuckDB file by default; DuckLake (PostgreSQL catalog) for many machines."""

from synth_assets.core.lineage.api import Lineage
from synth_assets.core.lineage.schema import SCHEMA_VERSION
from synth_assets.core.lineage.target import DuckLakeSettings, is_ducklake_url

__all__ = ["SCHEMA_VERSION", "DuckLakeSettings", "Lineage", "is_ducklake_url"]

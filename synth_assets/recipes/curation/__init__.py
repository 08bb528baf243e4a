"""Curation: merge sources, exact + semantic dedup, unified SFT / CoT / preference formats."""

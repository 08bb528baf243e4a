"""Resources every domain uses: the store (and lineage), its IO manager, the LLM layer, S3."""

from __future__ import annotations

from dagster import Definitions
from dagster_aws.s3 import S3Resource

from io_managers.shared_store import SharedStoreIOManager
from resources.llm import LLMResource
from resources.store import StoreResource
from synth_assets.core.root import state_dir


def definitions(root: str) -> Definitions:
    store = StoreResource(root=root)
    return Definitions(resources={
        "store": store,
        "shared_store": SharedStoreIOManager(store=store),
        "llm": LLMResource(cache_path=str(state_dir(root) / ".cache" / "llm_cache.sqlite")),
        "s3": S3Resource(),
    })

"""Resources every domain uses: the store (and lineage), its IO manager, the LLM layer, S3."""

from __future__ import annotations

from dagster import Definitions
from dagster_aws.s3 import S3Resource

from io_managers.shared_store import SharedStoreIOManager
from resources.llm import LLMResource
from resources.llm.cache import cache_kind
from resources.store import StoreResource
from synth_assets.core.root import state_dir


def llm_resource(root: str) -> LLMResource:
    """The LLM layer with the cache `$SYNTH_LLM_CACHE` selects for this store: the store itself (the default for
    `s3://` roots: every worker sees every response) or a SQLite file in its local state dir."""
    if cache_kind(root) == "store":
        return LLMResource(cache_root=root)
    return LLMResource(cache_path=str(state_dir(root) / ".cache" / "llm_cache.sqlite"))


def definitions(root: str) -> Definitions:
    store = StoreResource(root=root)
    return Definitions(resources={
        "store": store,
        "shared_store": SharedStoreIOManager(store=store),
        "llm": llm_resource(root),
        "s3": S3Resource(),
    })

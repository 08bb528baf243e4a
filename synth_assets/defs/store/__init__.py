"""Resources every domain uses: the store (and lineage), its IO manager, the LLM layer, S3."""

from __future__ import annotations

from dagster import Definitions
from dagster_aws.s3 import S3Resource

from io_managers.shared_store import SharedStoreIOManager
from resources.llm import LLMResource
from resources.store import StoreResource
from synth_assets.lib.console_log import console_logger
from synth_assets.llm.cache import cache_options


def llm_resource(root: str) -> LLMResource:
    """The LLM layer with the cache `$SYNTH_LLM_CACHE` selects for this store: the store itself (the default for
    `s3://` roots: every worker sees every response) or a SQLite file in its local state dir."""
    return LLMResource(**cache_options(root))


def definitions(root: str) -> Definitions:
    store = StoreResource(root=root)
    return Definitions(resources={
        "store": store,
        "shared_store": SharedStoreIOManager(store=store),
        "llm": llm_resource(root),
        "s3": S3Resource(),
    }, loggers={"console": console_logger})

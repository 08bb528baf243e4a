"""The code location: recipe assets, the shared-store IO manager, LLM, store and S3 resources, sensors."""

from dagster import Definitions
from dagster_aws.s3 import S3Resource

from io_managers.shared_store import SharedStoreIOManager
from resources.llm import LLMResource
from resources.store import StoreResource
from synth_assets.assets import recipe_assets
from synth_assets.assets.translation_judge import translation_judge_assets
from synth_assets.defs.batch_api.assets import BatchAPIResource, batchapi_assets, batchapi_jobs, batchapi_sensor
from synth_assets.defs.curation.assets import curation_assets, curation_job, curation_resources
from synth_assets.jobs import recipe_jobs
from synth_assets.sensors import config_drop_sensor, judge_drop_sensor, s3_config_drop_sensor

defs = Definitions(
    assets=[*(a for assets in recipe_assets.values() for a in assets), *translation_judge_assets, *batchapi_assets, *curation_assets],
    jobs=[*recipe_jobs, *batchapi_jobs, curation_job],
    sensors=[config_drop_sensor, s3_config_drop_sensor, judge_drop_sensor, batchapi_sensor],
    resources={
        "shared_store": SharedStoreIOManager(),
        "synth": StoreResource(),
        "llm": LLMResource(),
        "s3": S3Resource(),
        "batch_api": BatchAPIResource(),
        **curation_resources,
    },
)

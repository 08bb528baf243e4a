"""The polling-sensor builder: a recipe's `Poller` (plain Python: what outside work to look at, which runs it asks
for) as a Dagster sensor over the store and the recipe's resources."""

from __future__ import annotations

from dagster import DefaultSensorStatus, RunRequest, SensorDefinition, SensorEvaluationContext, SensorResult, sensor

from synth_assets.lib.partitions import add_partitions, partition_key
from synth_assets.recipes.base import Recipe
from synth_assets.recipes.hooks import Poller


def build_poll_sensor(recipe: Recipe, poller: Poller) -> SensorDefinition:
    @sensor(name=poller.sensor, job_name=poller.job, minimum_interval_seconds=poller.interval_s,
            default_status=DefaultSensorStatus.STOPPED, description=poller.description,
            required_resource_keys={"store", *recipe.resources})
    def _poll_sensor(context: SensorEvaluationContext, **_invoked_with: object) -> SensorResult:
        # the recipe's resources are plain objects, read from context.resources (a test's direct call also passes them here)
        resources = {name: getattr(context.resources, name) for name in recipe.resources}
        polled, found = poller.poll(context.resources.store.store, resources, context.log)
        add_partitions(context.instance, [p.record for p in polled])
        context.log.info(found)
        requests = [RunRequest(run_key=p.run_key, partition_key=partition_key(p.record), tags=p.tags) for p in polled]
        return SensorResult(run_requests=requests, skip_reason=None if requests else found)

    return _poll_sensor

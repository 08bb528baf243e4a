"""deploy/dagster.yaml loads against a real PostgreSQL, and its queue holds back a second run of a
fingerprint while one is in progress (Dagster's own tag-limit logic); SYNTH_EXECUTOR picks executors."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, DagsterRun, in_process_executor, multiprocess_executor
from dagster._utils.tags import TagConcurrencyLimitsCounter

from synth_assets.lib.executor import executor_from_env


def test_instance_from_deploy_config(dagster_home):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    with DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
        assert instance.run_monitoring_enabled and instance.run_monitoring_start_timeout_seconds == 300

        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        running = DagsterRun(job_name="rephrase_job", run_id="a", tags={"synth/fingerprint": "7c6e24aa11bb"})
        counter = TagConcurrencyLimitsCounter(limits, [running])
        same = DagsterRun(job_name="rephrase_job", run_id="b", tags={"synth/fingerprint": "7c6e24aa11bb"})
        other = DagsterRun(job_name="rephrase_job", run_id="c", tags={"synth/fingerprint": "0d1e2f3a4b5c"})
        assert counter.is_blocked(same) and not counter.is_blocked(other)


def test_executor_from_env():
    assert executor_from_env({}) is multiprocess_executor
    assert executor_from_env({"SYNTH_EXECUTOR": "in_process"}) is in_process_executor
    celery = executor_from_env({"SYNTH_EXECUTOR": "celery"})
    assert celery.name == "synth_celery"
    with pytest.raises(ValueError, match="expected one of multiprocess, in_process, celery"):
        executor_from_env({"SYNTH_EXECUTOR": "k8s"})

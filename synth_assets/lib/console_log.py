"""Dagster's console logger, except that a step or run failing because the store cannot be written (disk full,
read-only) is logged as one line instead of Dagster's stack traces (the cause is the user's disk, not code)."""

from __future__ import annotations

import logging

from dagster import Field, logger
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR
from dagster._core.utils import coerce_valid_log_level
from dagster._utils.log import create_console_logger

from synth_assets.core.storage_errors import storage_problem_in_text


def _innermost(error):
    while error.cause is not None:
        error = error.cause
    return error


class StorageErrorsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        event = (getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}).get("dagster_event")
        error = getattr(getattr(event, "event_specific_data", None), "error", None)
        if error is not None and isinstance(record.msg, str):
            cause = _innermost(error)
            problem = storage_problem_in_text(f"{cause.cls_name}: {cause.message}")
            if problem:
                record.msg = record.msg.split("\n\n", 1)[0] + f" {problem}"
                record.args = ()
        return True


@logger({"log_level": Field(str, is_required=False, default_value="INFO"),
         "name": Field(str, is_required=False, default_value="dagster")},
        description="Dagster's colored console logger; failures for a full or read-only store in one line.")
def console_logger(init_context) -> logging.Logger:
    log = create_console_logger(name=init_context.logger_config["name"],
                                level=coerce_valid_log_level(init_context.logger_config["log_level"]))
    for handler in log.handlers:
        if not any(isinstance(f, StorageErrorsInOneLine) for f in handler.filters):
            handler.addFilter(StorageErrorsInOneLine())
    return log

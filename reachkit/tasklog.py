"""Structured task logs: one line when a task starts, one when it ends, with its duration."""

import logging
import time
from typing import Any

from celery import signals

logger = logging.getLogger("reachkit.tasks")
_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id: str, task: Any, **kwargs: Any) -> None:
    _started[task_id] = time.monotonic()
    logger.info("task started", extra={"task": task.name, "task_id": task_id})


@signals.task_postrun.connect
def _task_finished(task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
    started = _started.pop(task_id, None)
    duration_ms = round((time.monotonic() - started) * 1000) if started else None
    logger.info(
        "task finished",
        extra={"task": task.name, "task_id": task_id, "state": state, "duration_ms": duration_ms},
    )


@signals.task_failure.connect
def _task_failed(task_id: str, exception: BaseException, sender: Any, **kwargs: Any) -> None:
    logger.error(
        "task failed",
        extra={"task": sender.name, "task_id": task_id, "error": type(exception).__name__},
    )

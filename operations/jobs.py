"""Celery job durations, timed from Celery's task signals (every task, no code in each)."""

import time

from celery import signals

from operations import events

_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **kwargs) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _task_finished(task_id: str | None = None, task=None, state: str | None = None, **kwargs) -> None:
    started = _started.pop(task_id, None) if task_id else None
    if started is None or task is None:
        return
    outcome = "ok" if state == "SUCCESS" else (state or "unknown").lower()
    events.observe(events.JOB_SECONDS, time.monotonic() - started, task=task.name, outcome=outcome)

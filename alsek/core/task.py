"""Tour import path for tasks."""

from alsek.app.task_decorator import task
from alsek.app.trigger_task import TriggerTask
from alsek.domain.services.task import Task

__all__ = ["Task", "TriggerTask", "task"]

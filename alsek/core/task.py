"""Tour import path for tasks."""

from alsek.app.task_decorator import task
from alsek.domain.services.task import Task
from alsek.domain.services.trigger_task import TriggerTask

__all__ = ["Task", "TriggerTask", "task"]

"""How the ``alsek`` commands log: text lines or one JSON object per line (``--log-format``),
and the per-run lines of the ``alsek.tasks`` logger behind ``--log-tasks``."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"

#: Attributes every LogRecord has: the others are a call's ``extra`` fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (ISO 8601, UTC), level, logger, process,
    message, the ``extra`` fields given (``task``, ``uuid``, ``attempt``, ...) and, for a
    record with an exception, ``traceback``."""

    converter = time.gmtime  # type: ignore[assignment]

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "pid": record.process,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str, log_format: str = "text", log_tasks: bool = False) -> None:
    """Configure the root logger for a command: ``level``, ``log_format`` (``text`` or
    ``json``), and whether ``alsek.tasks`` logs each run's start and success."""
    handler = logging.StreamHandler()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root_level = getattr(logging, level.upper())
    logging.basicConfig(level=root_level, handlers=[handler], force=True)
    tasks_level = logging.INFO if log_tasks else max(logging.WARNING, root_level)
    logging.getLogger("alsek.tasks").setLevel(tasks_level)

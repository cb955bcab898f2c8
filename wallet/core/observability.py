"""Request ids and JSON-lines logs.

Every request gets an id (the caller's ``X-Request-Id`` when it is sane, else a
new one), returned in the response header and put on every log line written
while handling it -- including the lines of worker tasks it enqueued, which
carry the id along (huey_tasks/withdrawals.py). The web apps set it per
request (webcommon/observability.py); this module holds no web code.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}", re.ASCII)


def new_request_id(offered: str | None = None) -> str:
    return offered if offered and _SANE_ID.fullmatch(offered) else uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (+ error)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)

"""A small Server-Sent Events client for the announcer's tests: one stream on
a connection of its own, read message by message (as a browser's
EventSource parses them), closable at any point to reconnect."""
from __future__ import annotations

import json
import socket
import urllib.parse
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPResponse
from typing import Any


@dataclass(frozen=True)
class SseMessage:
    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


class SseStream:
    """GET ``url`` as an event stream (``last_event_id``: the header a
    reconnecting browser sends). ``status`` and ``headers`` are the answer's;
    :meth:`next` the next message (comments and ``retry:`` are skipped, the
    latter kept in ``retry_ms``)."""

    def __init__(self, url: str, *, last_event_id: str | None = None,
                 origin: str | None = None, timeout_s: float = 20.0,
                 read_timeout_s: float | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        self.connection = HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        if origin is not None:
            headers["Origin"] = origin
        self.connection.connect()
        sock = self._sock = self.connection.sock  # (the response reads it; the connection
        # forgets it when the answer says it closes after)
        self.connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                                headers=headers)
        self.response: HTTPResponse = self.connection.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        if read_timeout_s is not None:
            sock.settimeout(read_timeout_s)  # (between messages: heartbeats count)
        self.retry_ms: int | None = None
        self.comments: list[str] = []
        self._body = ""
        if self.status != 200:  # a refusal: read, then hang up (no stream to keep open)
            self._body = self.response.read().decode()
            self.close()

    def body(self) -> str:
        """A refusal's body."""
        return self._body

    def next(self) -> SseMessage | None:
        """The next message; None when the stream ended."""
        event, data, event_id = "message", [], None
        while True:
            try:
                raw = self.response.readline()
            except (socket.timeout, TimeoutError):
                raise TimeoutError("no message from the stream in time") from None
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data or event != "message":
                    return SseMessage(event, "\n".join(data), event_id)
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                event_id = value
            elif name == "retry":
                self.retry_ms = int(value)

    def close(self) -> None:
        """Hang up at once (mid-message, too)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.response.close()  # (its file holds the socket open too)
        self.connection.close()

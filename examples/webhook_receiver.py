"""A shop's server receiving the wallet's webhooks: verify, de-duplicate, act.

Run: pip install standardwebhooks
     WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py [PORT]
then add http://127.0.0.1:PORT/ as an endpoint in the merchant app (development
allows local http URLs; production wants a public https one) and copy its
signing secret into WEBHOOK_SECRET.

Answer 2xx quickly once the message is safely recorded; anything else (or no
answer within the timeout) is retried with growing waits, so do slow work
after answering. The ``webhook-id`` is the same on every retry and resend:
use it to act once.
"""
from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY_BYTES = 64 * 1024


def make_app(secret: str, on_event: Callable[[dict[str, Any]], None] = print
             ) -> Callable[..., Iterable[bytes]]:
    """A WSGI app that accepts only messages signed with ``secret`` (or with
    the previous secret while a rotation's grace lasts: we send both)."""
    verifier = Webhook(secret)
    seen: set[str] = set()
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "POST":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
            return [b"too large"]
        body = environ["wsgi.input"].read(length)
        headers = {key[5:].replace("_", "-").lower(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        try:
            message = verifier.verify(body, headers)  # signature and timestamp (5 min)
        except WebhookVerificationError:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"bad signature"]
        with lock:
            first_time = headers["webhook-id"] not in seen
            seen.add(headers["webhook-id"])
        if first_time:
            on_event(message)
        start_response("204 No Content", [])
        return [b""]

    return app


def main() -> None:
    from wsgiref.simple_server import make_server

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8099
    app = make_app(os.environ["WEBHOOK_SECRET"],
                   lambda message: print(json.dumps(message, indent=2)))
    print(f"listening on http://127.0.0.1:{port}/")
    make_server("127.0.0.1", port, app).serve_forever()


if __name__ == "__main__":
    main()

"""People sending money through the user app during a failover: each one a
browser (cookies, no redirects followed) that logs in, then sends transfers
with request keys of its own, and sends a form again with the same key after a
503 or no answer, as a person would ("a form sent again is never applied
twice"). Every answer goes to an :class:`bench.acks.AckLog`; an acknowledged
transfer (303 to its page) becomes an :class:`bench.acks.Ack`."""
from __future__ import annotations

import http.cookiejar
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from bench.acks import Ack, AckLog, Outcome

PIN = "1357"
PASSWORD = "drill-pass-123"
TX_PAGE = re.compile(r"/(?:transactions|withdrawals)/(\d+)")


class Person:
    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    def __init__(self, base_url: str, phone: str, user_id: int, log: AckLog):
        self.base_url, self.phone, self.user_id, self.log = base_url, phone, user_id, log
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect())
        self.csrf = ""
        self.read_from = ""  # which database served the last page (webcommon.reads)

    def request(self, path: str, form: dict[str, str] | None = None,
                timeout_s: float = 30) -> tuple[int, str, str, bool]:
        """(status, Location, body, Retry-After given); status 0: no answer."""
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.base_url + path, data=data)
        try:
            with self.opener.open(request, timeout=timeout_s) as response:
                self.read_from = response.headers.get("X-Read-From", "")
                return (response.status, response.headers.get("Location") or "",
                        response.read().decode("utf-8", "replace"),
                        "Retry-After" in response.headers)
        except urllib.error.HTTPError as error:
            return (error.code, error.headers.get("Location") or "",
                    error.read().decode("utf-8", "replace"), "Retry-After" in error.headers)
        except OSError:
            return 0, "", "", False

    def log_in(self) -> None:
        for _ in range(20):
            status, _, page, _ = self.request("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            if status == 200 and token:
                self.request("/login", {"csrf_token": token.group(1), "phone": self.phone,
                                        "password": PASSWORD})
                status, _, page, _ = self.request("/send")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page)
                if status == 200 and token:
                    self.csrf = token.group(1)
                    return
            time.sleep(0.5)
        raise RuntimeError(f"{self.phone} could not log in")

    def send(self, form: str, path: str, fields: dict[str, str], amount_paise: int,
             attempts: int = 40) -> bool:
        """One form, sent until acknowledged or refused for good (4xx), the same
        request key every time. True if acknowledged."""
        key = secrets.token_urlsafe(18)
        for _ in range(attempts):
            started = time.monotonic()
            status, location, _, retry_after = self.request(path, {
                **fields, "csrf_token": self.csrf, "request_key": key, "pin": PIN})
            self.log.outcome(Outcome(started, time.monotonic(), status, retry_after))
            page = TX_PAGE.search(location)
            if status == 303 and page:
                self.log.ack(Ack(form, self.user_id, key, int(page.group(1)), amount_paise))
                return True
            if 400 <= status < 500:
                return False
            time.sleep(0.3)  # 503 or no answer: the outcome is not known; send it again
        return False


def keep_sending(person: Person, others: list[str], stop: threading.Event,
                 rng: random.Random) -> None:
    """Transfers of 1 to 500 paise to random others until ``stop``."""
    while not stop.is_set():
        amount = rng.randint(1, 500)
        person.send("send", "/send", {"phone": rng.choice(others)[3:],
                                      "amount": f"{amount // 100}.{amount % 100:02d}",
                                      "note": "drill"}, amount)

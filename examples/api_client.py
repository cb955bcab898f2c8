"""A phone app's conversation with the wallet's JSON API (docs/api.md), in the
standard library only: sign in, show the balance, add money from a bank, send
money to a friend, withdraw to a bank account, list the transactions, sign out.

Run it against ``wallet-dev development.ini`` (API on :6547, fake bank on :6546):

    python3 examples/api_client.py [--base-url http://127.0.0.1:6547]
        [--phone +919876543210 --password demo-pass-123 --pin 1357] [--to +919812345678]

Everything goes through the documented API except one step: approving the
deposit on the bank's net-banking page, which a real user does in a browser
(see ``approve_at_the_bank``). Exit status 0 when every step worked.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

DEFAULT_BASE_URL = "http://127.0.0.1:6547"
# The demo users of a fresh `wallet-dev` database (wallet/seed.py).
DEMO_PHONE, DEMO_PASSWORD, DEMO_FRIEND = "+919876543210", "demo-pass-123", "+919812345678"
# An account the fake bank pays out to (ones starting 0000 do not exist there).
DEMO_ACCOUNT, DEMO_IFSC = "50100012345678", "HDFC0001234"
DEMO_PIN = "1357"  # the demo users' wallet PIN (wallet-dev prints it)

DEPOSIT_FINAL = {"success", "failed"}
WITHDRAWAL_FINAL = {"completed", "failed", "reversed", "needs_review"}


class ApiProblem(Exception):
    """An error answer: application/problem+json with a stable ``code``."""

    def __init__(self, status: int, body: dict[str, Any], retry_after: str | None = None):
        self.status = status
        self.code = str(body.get("code", "unknown"))
        self.detail = str(body.get("detail") or body.get("title") or "")
        self.errors: list[dict[str, str]] = body.get("errors") or []
        self.retry_after_s = int(retry_after) if retry_after and retry_after.isdigit() else None
        fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in self.errors)
        super().__init__(f"{status} {self.code}: {self.detail}" + (f" ({fields})" if fields
                                                                    else ""))


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def replayed(self) -> bool:
        """True when the API answered a repeated request from its store of
        Idempotency-Keys (nothing was done again)."""
        return self.headers.get("idempotent-replayed") == "true"


def new_idempotency_key() -> str:
    """16 to 64 letters, digits, - or _: a fresh random one per money request."""
    return secrets.token_urlsafe(24)  # 32 characters


class WalletApi:
    """A small client: JSON in and out, a bearer token, problems as exceptions."""

    def __init__(self, base_url: str, *, timeout_s: float = 15.0):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.token: str | None = None

    def request(self, method: str, path: str, body: Any = None, *,
                idempotency_key: str | None = None) -> Reply:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers,
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status, got, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:  # 4xx/5xx: a problem document
            status, got, raw = error.code, error.headers, error.read()
        reply_headers = {name.lower(): value for name, value in got.items()}
        parsed = json.loads(raw) if raw else None
        if status >= 400:
            raise ApiProblem(status, parsed if isinstance(parsed, dict) else {},
                             reply_headers.get("retry-after"))
        return Reply(status, reply_headers, parsed)

    def get(self, path: str, **query: Any) -> Any:
        present = {name: value for name, value in query.items() if value is not None}
        suffix = f"?{urllib.parse.urlencode(present)}" if present else ""
        return self.request("GET", path + suffix).body

    def move_money(self, path: str, body: dict[str, Any], *, key: str | None = None,
                   attempts: int = 4) -> Reply:
        """POST a request that moves money, with one Idempotency-Key for all its
        attempts: after a timeout or a dropped connection we cannot know whether
        it ran, so we send the *same* request with the *same* key again; the API
        runs it at most once and replays its first answer."""
        key = key or new_idempotency_key()
        for attempt in range(1, attempts + 1):
            try:
                return self.request("POST", path, body, idempotency_key=key)
            except ApiProblem as problem:
                if attempt == attempts or not (problem.code == "rate_limited"
                                               or problem.status >= 500):
                    raise  # a refusal: nothing was done; fix the request, new key
                wait_s = problem.retry_after_s or 2 ** attempt
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if attempt == attempts:
                    raise
                wait_s = 2 ** attempt
            time.sleep(min(wait_s, 60))
        raise AssertionError("unreachable")

    # --------------------------------------------------------------- sign-in

    def sign_in(self, phone: str, password: str, device_name: str) -> dict[str, Any]:
        issued = self.request("POST", "/v1/tokens", {
            "phone": phone, "password": password, "device_name": device_name}).body
        self.token = issued["token"]  # keep it in the phone's secure storage
        return dict(issued)

    def sign_out(self, token_id: int) -> None:
        self.request("DELETE", f"/v1/tokens/{token_id}")
        self.token = None

    def transactions(self, *, page_size: int = 20, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every transaction matching ``filters`` (kind, status, from, to), newest
        first, fetching pages as they are needed."""
        cursor = None
        while True:
            page = self.get("/v1/transactions", limit=page_size, cursor=cursor, **filters)
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return


def poll(fetch: Any, final: set[str], *, timeout_s: float, every_s: float) -> dict[str, Any]:
    """``fetch()`` until its status is one of ``final`` (or time runs out)."""
    deadline = time.monotonic() + timeout_s
    while True:
        current: dict[str, Any] = fetch()
        if current["status"] in final or time.monotonic() > deadline:
            return current
        time.sleep(every_s)


def approve_at_the_bank(netbanking_url: str, timeout_s: float = 15.0) -> None:
    """NOT PART OF THE WALLET API. The app opens ``netbanking_url`` in a browser
    and the user pays on their bank's page; here we do what the user would do on
    the fake bank's page (fake_bank/views.py): read its form and press "Approve
    payment" from the first account offered. The bank then tells the wallet
    (a signed webhook) and sends the browser back to the deposit's return_url."""
    with urllib.request.urlopen(netbanking_url, timeout=timeout_s) as response:
        page = response.read().decode()
    form = re.search(r'<form method="post" action="([^"]+)"', page)
    account = re.search(r'<option value="(\d+)"', page)
    if form is None or account is None:
        raise RuntimeError("the bank's page has no payment form (already decided?)")
    action = urllib.parse.urljoin(netbanking_url, html.unescape(form.group(1)))
    data = urllib.parse.urlencode({"action": "approve", "customer_id": account.group(1)})

    class StayHere(urllib.request.HTTPRedirectHandler):  # the browser would go back to the app
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(StayHere())
    try:
        opener.open(action, data=data.encode(), timeout=timeout_s).close()
    except urllib.error.HTTPError as answer:
        if answer.code not in (302, 303):
            raise


# ------------------------------------------------------------------- the flow


def show_money(money: dict[str, Any]) -> str:
    return str(money["display"])  # amount_paise is for sums; display is for people


def add_money(api: WalletApi, args: argparse.Namespace,
              say: Callable[[str], None]) -> tuple[Json, Json]:
    """1. Add money: start a deposit, the user pays at the bank, poll it.
    Returns the bank used and the deposit as it ended."""
    banks = api.get("/v1/banks")["items"]
    bank = next((b for b in banks if b["code"] == args.bank), None) if args.bank else banks[0]
    if bank is None:
        raise SystemExit(f"no bank {args.bank!r}; the API offers {[b['code'] for b in banks]}")
    deposit = api.move_money("/v1/deposits", {"bank": bank["code"],
                                              "amount_paise": args.deposit_paise}).body
    say(f"Adding {show_money(deposit['amount'])} from {bank['name']}: deposit "
        f"{deposit['reference']} is {deposit['status']}")
    say("  (outside the API: approving it on the bank's net-banking page, "
        "as the user would in a browser)")
    approve_at_the_bank(deposit["netbanking_url"])
    reference = deposit["reference"]
    deposit = poll(lambda: api.get(f"/v1/deposits/{reference}"), DEPOSIT_FINAL,
                   timeout_s=args.timeout, every_s=args.poll_every)
    say(f"  deposit {reference}: {deposit['status']}")
    return bank, deposit


def send_twice(api: WalletApi, args: argparse.Namespace, say: Callable[[str], None]) -> bool:
    """2. Send money to a friend. The same request with the same key again
    (as after a timeout) replays the first answer and moves nothing. The
    wallet PIN goes with every request that moves money out. True if replayed."""
    body = {"to_phone": args.to, "amount_paise": args.send_paise,
            "note": "sent by examples/api_client.py", "pin": args.pin}
    key = new_idempotency_key()
    transfer = api.move_money("/v1/transfers", body, key=key).body
    say(f"Sent {show_money(transfer['amount'])} to {transfer['counterparty']}: transfer "
        f"{transfer['id']} {transfer['status']}")
    again = api.move_money("/v1/transfers", body, key=key)
    say(f"  the same request with the same Idempotency-Key: {again.status}, "
        f"Idempotent-Replayed: {str(again.replayed).lower()}, transfer {again.body['id']}")
    return again.replayed


def withdraw(api: WalletApi, args: argparse.Namespace, bank: Json,
             say: Callable[[str], None]) -> Json:
    """3. Withdraw to a bank account: accepted at once (202), the money held,
    settled by the bank later -- poll it."""
    withdrawal = api.move_money("/v1/withdrawals", {
        "bank": bank["code"], "account_number": args.account, "ifsc": args.ifsc,
        "amount_paise": args.withdraw_paise, "pin": args.pin}).body
    say(f"Withdrawing {show_money(withdrawal['amount'])} to {withdrawal['account']} "
        f"({withdrawal['ifsc']}): withdrawal {withdrawal['id']} is {withdrawal['status']}")
    withdrawal_id = withdrawal["id"]
    withdrawal = poll(lambda: api.get(f"/v1/withdrawals/{withdrawal_id}"),
                      WITHDRAWAL_FINAL, timeout_s=args.timeout, every_s=args.poll_every)
    attempts = withdrawal["attempts"]
    say(f"  withdrawal {withdrawal['id']}: {withdrawal['status']} "
        f"{withdrawal['failure_reason']}".rstrip()
        + f" ({attempts['count']} bank call(s), last {attempts['last_kind']} -> "
          f"{attempts['last_outcome']})")
    return withdrawal


def show_latest(api: WalletApi, args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """4. The balance and the latest transactions (cursor paging, newest first)."""
    me = api.get("/v1/me")
    say(f"Available now {show_money(me['balance']['available'])}")
    say("Latest transactions:")
    for n, item in zip(range(args.list), api.transactions(page_size=args.list), strict=False):
        sign = "+" if item["direction"] == "in" else "-"
        say(f"  {n + 1}. {item['created_at'][:16].replace('T', ' ')}Z  {item['kind']:<10} "
            f"{item['status']:<9} {sign + show_money(item['amount']):>13}  "
            f"{item['counterparty']}")


def run(args: argparse.Namespace) -> int:
    api = WalletApi(args.base_url)
    say = print

    issued = api.sign_in(args.phone, args.password, args.device_name)
    say(f"Signed in as {args.phone} on {issued['device_name']!r}: token {issued['prefix']}… "
        f"(id {issued['id']}, expires {issued['expires_at']})")
    try:
        me = api.get("/v1/me")
        say(f"Hello {me['name']}. Available {show_money(me['balance']['available'])} "
            f"(held for withdrawals {show_money(me['balance']['held'])})")
        bank, deposit = add_money(api, args, say)
        if deposit["status"] != "success":
            return 1
        replayed = send_twice(api, args, say)
        withdrawal = withdraw(api, args, bank, say)
        show_latest(api, args, say)
        return 0 if withdrawal["status"] == "completed" and replayed else 1
    finally:
        api.sign_out(issued["id"])  # revoke this device's token: it is refused at once
        say(f"Signed out (token {issued['id']} revoked).")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL)
    parser.add_argument("--phone", default=DEMO_PHONE)
    parser.add_argument("--password", default=DEMO_PASSWORD)
    parser.add_argument("--pin", default=DEMO_PIN,
                        help="your wallet PIN, asked before money leaves the wallet")
    parser.add_argument("--to", default=DEMO_FRIEND, help="the friend's phone number")
    parser.add_argument("--device-name", default="examples/api_client.py")
    parser.add_argument("--bank", help="bank code (default: the first the API lists)")
    parser.add_argument("--account", default=DEMO_ACCOUNT)
    parser.add_argument("--ifsc", default=DEMO_IFSC)
    parser.add_argument("--deposit-paise", type=int, default=500_00)
    parser.add_argument("--send-paise", type=int, default=120_50)
    parser.add_argument("--withdraw-paise", type=int, default=200_00)
    parser.add_argument("--list", type=int, default=5, help="how many transactions to list")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for the bank to settle")
    parser.add_argument("--poll-every", type=float, default=1.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except ApiProblem as problem:
        print(f"The API refused: {problem}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"Cannot reach {args.base_url}: {error.reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

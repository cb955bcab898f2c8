"""Users' money requests and split bills (a user's token): ask, list, pay
(with the PIN: one transfer, whatever the retries), decline (and block),
cancel; splits made, listed, reminded, a share edited, closed. Writes that
make something new (a request, a split) or move money take an
``Idempotency-Key`` (api_app.money); the others are idempotent by nature
(declining or cancelling twice changes nothing)."""
from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from wallet.core.codes import SplitMode
from wallet.core.models import User
from wallet.money.activity import describe
from wallet.money.splits import Participant
from webcommon import request_services
from webcommon.views import view_config

from .. import render
from ..money import Json, run_amount_request, run_money_request, strict_int
from ..problems import validation_error
from ..validation import json_body


def _user(request: Request) -> User:
    user: User = request.identity
    return user


def _shown(request: Request, public_id: str) -> Json:
    requests = request_services(request).money_requests
    user = _user(request)
    return render.money_request(requests.view(requests.of_user(user, public_id), user), user)


def _split(request: Request, public_id: str) -> Json:
    user = _user(request)
    return render.split(request_services(request).splits.view(user, public_id), user)


def _cursor(request: Request) -> int | None:
    cursor = request.params.get("cursor")
    return int(cursor) if cursor else None


@view_config(route_name="money_requests", request_method="POST", openapi=True,
             permission="user")
def ask(request: Request) -> Response:
    def operation(key: str, body: Json, amount: int) -> tuple[int, Json]:
        made = request_services(request).money_requests.ask(
            _user(request), body["to_phone"], amount, body.get("note", ""),
            body.get("expires_at"))
        return 201, _shown(request, made.public_id)

    return run_amount_request(request, operation)


@view_config(route_name="money_requests", request_method="GET", openapi=True,
             renderer="json", permission="user")
def list_requests(request: Request) -> Any:
    params = request.params
    user = _user(request)
    views, next_cursor = request_services(request).money_requests.page(
        user, incoming=params.get("role", "incoming") == "incoming",
        status=params.get("status"), cursor=_cursor(request),
        limit=int(params.get("limit", 20)))
    return {"items": [render.money_request(view, user) for view in views],
            "next_cursor": None if next_cursor is None else str(next_cursor)}


@view_config(route_name="money_request", request_method="GET", openapi=True,
             renderer="json", permission="user")
def get_request(request: Request) -> Any:
    return _shown(request, request.matchdict["money_request_id"])


@view_config(route_name="money_request_pay", request_method="POST", openapi=True,
             permission="user")
def pay(request: Request) -> Response:
    """Pay with the PIN: one transfer, keyed by the request itself, so a
    retry with another Idempotency-Key moves nothing either."""
    public_id = request.matchdict["money_request_id"]
    expected: int | None = None
    if "amount_paise" in json_body(request):
        read = strict_int(json_body(request), "amount_paise")
        if isinstance(read, Response):
            return read
        expected = read

    def operation(key: str, body: Json) -> tuple[int, Json]:
        requests, user = request_services(request).money_requests, _user(request)
        paid, tx = requests.quote(user, public_id, expected).confirm(body["pin"], key)
        return 201, {"request": render.money_request(requests.paid_view(paid, user), user),
                     "transaction": render.activity(describe(user, tx))}

    return run_money_request(request, operation)


@view_config(route_name="money_request_decline", request_method="POST", openapi=True,
             renderer="json", permission="user")
def decline(request: Request) -> Any:
    public_id = request.matchdict["money_request_id"]
    request_services(request).money_requests.decline(
        _user(request), public_id, block=(json_body(request) or {}).get("block") is True)
    return _shown(request, public_id)


@view_config(route_name="money_request_cancel", request_method="POST", openapi=True,
             renderer="json", permission="user")
def cancel(request: Request) -> Any:
    public_id = request.matchdict["money_request_id"]
    request_services(request).money_requests.cancel(_user(request), public_id)
    return _shown(request, public_id)


# ------------------------------------------------------------------ splits


def _participants(body: Json, mode: str) -> list[Participant] | Response:
    people = []
    for index, item in enumerate(body.get("participants", [])):
        name = "amount_paise" if mode == SplitMode.EXACT else "shares"
        value = item.get(name)
        if mode != SplitMode.EQUAL and type(value) is not int:
            return validation_error(f"participants/{index}/{name}",
                                    f"Each person needs a whole number of {name} in "
                                    f"{mode} mode.")
        people.append(Participant(item["phone"], value))
    return people


@view_config(route_name="splits", request_method="POST", openapi=True, permission="user")
def create_split(request: Request) -> Response:
    body = json_body(request)
    total = strict_int(body, "total_paise")
    if isinstance(total, Response):
        return total
    people = _participants(body, str(body.get("mode")))
    if isinstance(people, Response):
        return people

    def operation(key: str, body: Json) -> tuple[int, Json]:
        made = request_services(request).splits.create(
            _user(request), body["title"], total, body["mode"], people, body.get("expires_at"))
        return 201, _split(request, made.public_id)

    return run_money_request(request, operation)


@view_config(route_name="splits", request_method="GET", openapi=True, renderer="json",
             permission="user")
def list_splits(request: Request) -> Any:
    splits = request_services(request).splits
    rows, next_cursor = splits.page(_user(request), cursor=_cursor(request),
                                    limit=int(request.params.get("limit", 20)))
    return {"items": [_split(request, row.public_id) for row in rows],
            "next_cursor": None if next_cursor is None else str(next_cursor)}


@view_config(route_name="split", request_method="GET", openapi=True, renderer="json",
             permission="user")
def get_split(request: Request) -> Any:
    return _split(request, request.matchdict["split_id"])


@view_config(route_name="split_remind", request_method="POST", openapi=True,
             renderer="json", permission="user")
def remind(request: Request) -> Any:
    public_id = request.matchdict["split_id"]
    reminded = request_services(request).splits.remind(_user(request), public_id)
    return {"reminded": reminded, "split": _split(request, public_id)}


@view_config(route_name="split_close", request_method="POST", openapi=True,
             renderer="json", permission="user")
def close(request: Request) -> Any:
    public_id = request.matchdict["split_id"]
    request_services(request).splits.close(_user(request), public_id)
    return _split(request, public_id)


@view_config(route_name="split_share", request_method="POST", openapi=True,
             renderer="json", permission="user")
def edit_share(request: Request) -> Any:
    amount = strict_int(json_body(request), "amount_paise")
    if isinstance(amount, Response):
        return amount
    public_id = request.matchdict["split_id"]
    request_services(request).splits.edit_share(
        _user(request), public_id, request.matchdict["money_request_id"], amount)
    return _split(request, public_id)

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response

from wallet.identity.errors import AccountError, LoginThrottled
from webcommon.views import view_config

from .. import render
from ..problems import problem, validation_error
from ..security import current_token, tokens
from ..validation import json_body


@view_config(route_name="tokens", request_method="POST", openapi=True, renderer="json",
             permission="public")
def create_token(request: Request) -> Any:
    body = json_body(request)
    try:
        # (a failed attempt is counted and committed: the answer is not an exception)
        user = request.services.accounts.authenticate(body["phone"], body["password"],
                                                      request.remote_addr or "unknown")
        issued = tokens(request).issue(user, body["device_name"],
                                       user_agent=request.user_agent or "",
                                       ip=request.remote_addr or "")
    except LoginThrottled as exc:
        return problem("login_throttled", str(exc), headers={"Retry-After": "900"})
    except AccountError as exc:
        if exc.field:
            return validation_error(exc.field, str(exc))
        return problem("invalid_credentials", str(exc))
    request.response.status = 201
    return {**render.token(issued.record), "token": issued.token}


@view_config(route_name="tokens", request_method="GET", openapi=True, renderer="json",
             permission="user")
def list_tokens(request: Request) -> Any:
    current = current_token(request)
    return {"items": [render.token(record, current_id=current.id if current else None)
                      for record in tokens(request).of_user(request.identity)]}


@view_config(route_name="token", request_method="DELETE", openapi=True, permission="user")
def revoke_token(request: Request) -> Response:
    if not tokens(request).revoke(request.identity, int(request.matchdict["token_id"])):
        raise HTTPNotFound()
    return Response(status=204)

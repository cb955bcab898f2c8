"""The contract (api_app/contract.py) wired into Pyramid: a view deriver
checks the request of every view marked ``openapi=True`` against its
operation, a tween checks the answer (unless ``api.validate_responses`` is
off), and every other method on a documented path is a 405."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pyramid.config import Configurator
from pyramid.config.views import ViewDeriverInfo
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import EXCVIEW

from .contract import Contract, ContractError, Operation
from .problems import problem
from .security import bearer_token

log = logging.getLogger(__name__)
View = Callable[[Any, Request], Response]
Handler = Callable[[Request], Response]
_OPERATION = "api.operation"
JSON_BODY = "api.json_body"


def contract(request: Request) -> Contract:
    found: Contract = request.registry["api.contract"]
    return found


def operation_of(request: Request) -> Operation | None:
    route = request.matched_route
    method = "GET" if request.method == "HEAD" else request.method  # (Pyramid: HEAD is GET)
    return None if route is None else contract(request).operation(route.pattern, method)


def json_body(request: Request) -> Any:
    """The body the contract checked, parsed once (views never re-read it: a
    second reader could read other bytes, or the same bytes otherwise)."""
    return request.environ[JSON_BODY]


def contract_view(view: View, info: ViewDeriverInfo) -> View:
    """Views with ``openapi=True``: the request is checked first; the parsed
    JSON body is kept as ``request.environ[JSON_BODY]``."""
    if not info.options.get("openapi"):
        return view

    def checked(context: Any, request: Request) -> Response:
        operation = operation_of(request)
        if operation is None:
            raise LookupError(f"{request.matched_route.pattern} {request.method} is not "
                              "in the OpenAPI document")
        request.environ[_OPERATION] = operation
        request.environ[JSON_BODY] = operation.check_request(
            path=request.matchdict, query=request.GET, headers=request.headers,
            content_type=request.headers.get("Content-Type", ""), body=request.body,
            authorized=bearer_token(request) is not None)
        return view(context, request)

    return checked


contract_view.options = ("openapi",)  # type: ignore[attr-defined]


def response_check_tween_factory(handler: Handler, registry: Registry) -> Handler:
    def tween(request: Request) -> Response:
        response = handler(request)
        operation: Operation | None = request.environ.get(_OPERATION)
        if operation is None or request.method == "HEAD":  # (HEAD: a GET without its body)
            return response
        if response.status_code == 503:  # the database out of reach: any operation may
            return response  # answer service_unavailable (docs/api.md), not its own contract
        problems = operation.check_response(response.status_code,
                                            response.content_type or "", response.body)
        if not problems:
            return response
        # (the rules broken, never the values: they may be secrets)
        log.error("answer to %s %s does not match the OpenAPI document: %s", request.method,
                  request.matched_route.pattern if request.matched_route else request.path,
                  "; ".join(problem.split(":")[0] for problem in problems))
        return problem("server_error", "Our answer did not match our own contract; we "
                                       "logged it.")

    return tween


PROBLEM_FOR = {
    "unauthorized": ("unauthorized", "Send a valid token: Authorization: Bearer <token>."),
    "not_found": ("not_found", "There is nothing at this address."),
    "idempotency_key_missing": ("idempotency_key_missing",
                                "Send an Idempotency-Key header: 16 to 64 letters, digits, "
                                "- or _, a new one per request."),
    "idempotency_key_invalid": ("idempotency_key_invalid",
                                "Send an Idempotency-Key header of 16 to 64 letters, digits, "
                                "- or _."),
    "unsupported_media_type": ("unsupported_media_type", "Send the body as application/json."),
    "malformed_request": ("malformed_request", "The body is not valid JSON."),
}


def refused(exc: ContractError, request: Request) -> Response:
    """The document refused the request."""
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    if exc.kind == "unauthorized":
        return problem("unauthorized", PROBLEM_FOR["unauthorized"][1],
                       headers={"WWW-Authenticate": 'Bearer realm="wallet"'})
    if exc.kind in PROBLEM_FOR:
        code, detail = PROBLEM_FOR[exc.kind]
        return problem(code, exc.detail or detail)
    if exc.kind == "invalid_body":
        return problem("validation_error", "Some fields are not valid.", errors=errors)
    return problem("validation_error", "Some parameters are not valid.", errors=errors,
                   status=400)


def not_allowed(request: Request) -> Response:
    allowed = sorted(method for (path, method) in contract(request).operations
                     if request.matched_route and path == request.matched_route.pattern)
    return problem("method_not_allowed", f"{request.method} is not allowed here; use "
                   f"{', '.join(allowed)}.", headers={"Allow": ", ".join(allowed)})


def includeme(config: Configurator) -> None:
    config.add_view_deriver(contract_view)
    config.add_exception_view(refused, context=ContractError)
    settings = config.registry["api_settings"]
    if settings.validate_responses:
        config.add_tween("api_app.validation.response_check_tween_factory", over=EXCVIEW)


def add_method_fallbacks(config: Configurator, routes: dict[str, str]) -> None:
    """Any method a documented path does not have: 405 with ``Allow`` (views
    with a request_method predicate are tried first)."""
    for name in routes:
        config.add_view(not_allowed, route_name=name, permission="public")

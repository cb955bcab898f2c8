"""The API's contract, enforced: every request is checked against the OpenAPI
document (api_app/openapi.yaml) before its view runs, and -- unless turned off
-- every answer after, so the document cannot drift from the code.

The document's schemas are JSON Schema 2020-12 (OpenAPI 3.1); each is compiled
once at start-up by ``jsonschema_rs`` (a validator written in Rust), which
keeps the check to tens of microseconds a request.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

Json = Any
_INTEGER = re.compile(r"-?[0-9]{1,19}", re.ASCII)
_REQUIRED = re.compile(r'^"?(.+?)"? is a required property$')
JSON_TYPES = ("application/json", "application/problem+json")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def strict_json(body: bytes) -> Json:
    """JSON as RFC 8259 has it: UTF-8, no NaN or Infinity, no lone surrogates
    (a "\\ud800" is no character: it could not be stored or fingerprinted)."""
    document = json.loads(body.decode("utf-8"), parse_constant=_not_json)
    json.dumps(document, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError: ValueError
    return document


def _utf8_only(parameters: str) -> bool:
    """JSON is UTF-8 (RFC 8259): a body declared in another charset is refused,
    never read one way here and another way by a view."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
                "utf-8", "utf8"):
            return False
    return True


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def _key_problem(key: str) -> str:
    """Why an Idempotency-Key header is refused, said plainly."""
    if len(key) > 64:
        return f"The Idempotency-Key is too long ({len(key)} characters): use at most 64."
    if len(key) < 16:
        return f"The Idempotency-Key is too short ({len(key)} characters): use at least 16."
    return "The Idempotency-Key may hold only letters, digits, - and _."


class ContractError(Exception):
    """A request the document refuses. ``kind``: unauthorized, not_found,
    idempotency_key_missing, idempotency_key_invalid, unsupported_media_type,
    malformed_request,
    invalid_parameters (400) or invalid_body (422)."""

    def __init__(self, kind: str, errors: list[FieldError] | None = None, detail: str = ""):
        super().__init__(detail or kind)
        self.kind = kind
        self.errors = errors or []
        self.detail = detail


def _validator(schema: Json, components: Json) -> jsonschema_rs.Validator:
    # $refs point into the document's components: carry them along.
    root = {**schema, "components": components} if isinstance(schema, dict) else schema
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True)


MAX_MESSAGE_CHARS = 200


def _without_value(message: str, instance: Json) -> str:
    """The rule broken, not what was sent: the submitted value may be a
    password, or megabytes long."""
    try:
        shown = json.dumps(instance, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        shown = ""
    if shown and message.startswith(shown):
        message = "the value" + message[len(shown):]
    return message[:MAX_MESSAGE_CHARS]


def _errors(validator: jsonschema_rs.Validator, value: Json, prefix: str) -> list[FieldError]:
    found = []
    for error in validator.iter_errors(value):
        path = [str(part) for part in error.instance_path]
        required = _REQUIRED.match(error.message)
        if required:
            path.append(required.group(1))
        found.append(FieldError("/".join(path) or prefix,
                                _without_value(error.message, error.instance)))
        if len(found) >= 20:  # enough to fix a request by
            break
    return found


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    required: bool
    integer: bool
    validator: jsonschema_rs.Validator

    def read(self, raw: str) -> tuple[Json, list[FieldError]]:
        value: Json = raw
        if self.integer:
            if not _INTEGER.fullmatch(raw):
                return None, [FieldError(self.name, f"{self.name} must be a whole number")]
            value = int(raw)
        return value, _errors(self.validator, value, self.name)


@dataclass
class Operation:
    secured: bool
    parameters: list[Parameter]
    body: jsonschema_rs.Validator | None
    body_required: bool
    #: status ("201", "default") -> media type -> schema validator (None: no body)
    responses: dict[str, dict[str, jsonschema_rs.Validator | None]] = field(default_factory=dict)

    def check_request(self, *, path: Mapping[str, str], query: Mapping[str, str],
                      headers: Mapping[str, str], content_type: str, body: bytes,
                      authorized: bool) -> Json:
        """The request's JSON body (None if it has none), or ContractError."""
        if self.secured and not authorized:
            raise ContractError("unauthorized")
        errors: list[FieldError] = []
        for parameter in self.parameters:
            source = {"path": path, "query": query, "header": headers}[parameter.location]
            raw = source.get(parameter.name)
            if raw is None:
                if parameter.required:
                    errors.append(FieldError(parameter.name, f"{parameter.name} is required"))
                continue
            _, problems = parameter.read(raw)
            if problems and parameter.location == "path":
                raise ContractError("not_found")  # /v1/transactions/0 names nothing
            if problems and parameter.name.lower() == "idempotency-key":
                raise ContractError("idempotency_key_invalid", detail=_key_problem(raw))
            errors += problems
        if any(p.required and p.name.lower() == "idempotency-key" for p in self.parameters) \
                and not headers.get("Idempotency-Key"):
            raise ContractError("idempotency_key_missing")
        if errors:
            raise ContractError("invalid_parameters", errors)
        return self._check_body(content_type, body)

    def _check_body(self, content_type: str, body: bytes) -> Json:
        if self.body is None:
            return None
        if not body and not self.body_required:
            return None
        if not body:
            raise ContractError("invalid_body", [FieldError("body", "A JSON body is required.")])
        media_type, _, parameters = content_type.partition(";")
        if media_type.strip().lower() != "application/json" or not _utf8_only(parameters):
            raise ContractError("unsupported_media_type")
        try:
            document = strict_json(body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ContractError("malformed_request", detail="The body is not valid JSON.") \
                from None
        try:
            errors = _errors(self.body, document, "body")
        except (ValueError, RecursionError):  # nested deeper than any request of ours
            raise ContractError("malformed_request", detail="The body is nested too deeply.") \
                from None
        if errors:
            raise ContractError("invalid_body", errors)
        return document

    def check_response(self, status: int, content_type: str, body: bytes) -> list[str]:
        """What is wrong with an answer, by the document ([] if nothing)."""
        media = self.responses.get(str(status), self.responses.get("default"))
        if media is None:
            return [f"status {status} is not documented"]
        if not media:
            return [] if not body else [f"status {status} has no body in the document"]
        kind = content_type.split(";")[0].strip().lower()
        if kind not in media:
            return [f"content type {kind!r} is not documented for status {status}"]
        validator = media[kind]
        if validator is None:
            return []
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return ["the body is not JSON"]
        return [f"{e.field}: {e.message}" for e in _errors(validator, document, "body")]


class Contract:
    """Every operation of the document, by (path template, method)."""

    def __init__(self, document: Json):
        self.document = document
        components = document.get("components", {})
        self.operations: dict[tuple[str, str], Operation] = {}
        default_secured = bool(document.get("security"))
        for path, item in document["paths"].items():
            shared = item.get("parameters", [])
            for method, spec in item.items():
                if method in ("parameters", "summary", "description"):
                    continue
                self.operations[(path, method.upper())] = self._operation(
                    spec, shared, components, default_secured)

    def _operation(self, spec: Json, shared: list[Json], components: Json,
                   default_secured: bool) -> Operation:
        parameters = [self._parameter(p, components) for p in [*shared, *spec.get("parameters",
                                                                                    [])]]
        body_spec = self._resolve(spec.get("requestBody"), components)
        body = None
        if body_spec:
            body = _validator(body_spec["content"]["application/json"]["schema"], components)
        secured = bool(spec.get("security", [{}] if default_secured else []))
        operation = Operation(secured, parameters, body, bool(body_spec and
                                                             body_spec.get("required")))
        for status, response in spec.get("responses", {}).items():
            response = self._resolve(response, components)
            operation.responses[str(status)] = {
                kind: (_validator(media["schema"], components) if "schema" in media else None)
                for kind, media in response.get("content", {}).items()}
        return operation

    def _parameter(self, spec: Json, components: Json) -> Parameter:
        spec = self._resolve(spec, components)
        schema = spec.get("schema", {})
        return Parameter(spec["name"], spec["in"], bool(spec.get("required")),
                         schema.get("type") == "integer", _validator(schema, components))

    @staticmethod
    def _resolve(spec: Json, components: Json) -> Json:
        while isinstance(spec, dict) and "$ref" in spec:
            _, _, kind, name = spec["$ref"].split("/")
            spec = components[kind][name]
        return spec

    def operation(self, path_template: str, method: str) -> Operation | None:
        return self.operations.get((path_template, method.upper()))

    def paths(self) -> Iterator[str]:
        return iter(self.document["paths"])



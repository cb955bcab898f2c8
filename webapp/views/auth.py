from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import forget, remember
from pyramid.view import view_config

from wallet.errors import AccountError, LoginThrottled

from .forms import field


def safe_next(request) -> str:
    """Only same-site paths: never redirect to another host after log-in."""
    target = request.params.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return request.route_url("dashboard")


@view_config(route_name="signup", renderer="signup.jinja2", request_method="GET")
@view_config(route_name="login", renderer="login.jinja2", request_method="GET")
def auth_form(request):
    if request.identity is not None:
        return HTTPSeeOther(request.route_url("dashboard"))
    return {"errors": {}, "values": {}, "next": request.params.get("next", "")}


@view_config(route_name="signup", renderer="signup.jinja2", request_method="POST")
def signup(request):
    values = {"phone": field(request, "phone"), "name": field(request, "name")}
    try:
        user = request.wallet.accounts.signup(
            values["phone"], values["name"], field(request, "password")
        )
    except AccountError as exc:
        request.response.status = 400
        return {"errors": {exc.field or "form": str(exc)}, "values": values, "next": ""}
    headers = remember(request, user.id)
    request.session.flash(f"Welcome, {user.name}! Your wallet is ready.")
    return HTTPSeeOther(request.route_url("dashboard"), headers=headers)


@view_config(route_name="login", renderer="login.jinja2", request_method="POST")
def login(request):
    values = {"phone": field(request, "phone")}
    try:
        user = request.wallet.accounts.authenticate(
            values["phone"], field(request, "password"), request.remote_addr or "unknown"
        )
    except AccountError as exc:
        request.response.status = 429 if isinstance(exc, LoginThrottled) else 400
        return {"errors": {"form": str(exc)}, "values": values,
                "next": request.params.get("next", "")}
    headers = remember(request, user.id)
    return HTTPSeeOther(safe_next(request), headers=headers)


@view_config(route_name="logout", request_method="POST")
def logout(request):
    headers = forget(request)
    return HTTPSeeOther(request.route_url("login"), headers=headers)

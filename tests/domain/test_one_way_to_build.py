"""One way to build the domain's services: the apps, the workers and the CLIs
ask :class:`wallet.services.Services` for them (configured once from the
settings), and no constructor in ``wallet/`` falls back on a default policy of
its own, and no service reaches through another for a third (it is given what it
uses). Read from the source, so a new module is checked as soon as it exists."""
from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Where services are used, not built: the apps, the workers, the CLIs, the web glue.
ADAPTERS = ("webapp", "api_app", "admin_app", "webhook_app", "huey_tasks", "wallet_cli",
            "webcommon", "wallet_metrics", "announcer_app")
#: The composition root: the one place that builds services from the settings.
COMPOSITION_ROOT = ROOT / "wallet" / "services.py"
#: wallet/ modules that are entry points (CLI-run), checked like the adapters.
DOMAIN_ENTRY_POINTS = ("wallet/seed.py",)
#: A constructor parameter of these names or annotations makes a class a service.
SERVICE_PARAMS = {"run_in_transaction"}
SERVICE_ANNOTATIONS = {"Session"}


def _sources(*tops: str) -> Iterator[tuple[pathlib.Path, ast.Module]]:
    for top in tops:
        path = ROOT / top
        for file in sorted([path] if path.is_file() else path.rglob("*.py")):
            if "alembic" not in file.parts:
                yield file, ast.parse(file.read_text(), str(file))


def _constructor_args(node: ast.ClassDef) -> list[tuple[str, str]]:
    """(name, annotation) of what the class is built with: ``__init__``'s
    parameters, or a dataclass's fields."""
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            args = item.args.posonlyargs + item.args.args + item.args.kwonlyargs
            return [(a.arg, ast.unparse(a.annotation) if a.annotation else "") for a in args]
    if any("dataclass" in ast.unparse(d) for d in node.decorator_list):
        return [(ast.unparse(item.target), ast.unparse(item.annotation))
                for item in node.body if isinstance(item, ast.AnnAssign)]
    return []


def domain_services() -> set[str]:
    """Classes of wallet/ built on a database session (or a way to run
    transactions): the domain's services."""
    found = set()
    for file, tree in _sources("wallet"):
        if file == COMPOSITION_ROOT:
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                    name in SERVICE_PARAMS or annotation in SERVICE_ANNOTATIONS
                    for name, annotation in _constructor_args(node)):
                found.add(node.name)
    return found


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def direct_constructions(services: set[str]) -> list[str]:
    """Where an adapter (or a CLI-run module of wallet/) builds a service itself."""
    found = []
    for file, tree in _sources(*ADAPTERS, *DOMAIN_ENTRY_POINTS):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called_name(node) in services:
                found.append(f"{file.relative_to(ROOT)}:{node.lineno}: {_called_name(node)}(...)")
    return found


def _is_default_policy(default: ast.expr) -> bool:
    """A ``DEFAULT_...`` constant, or a policy made on the spot (``XPolicy()``)."""
    for node in ast.walk(default):
        if isinstance(node, ast.Name) and node.id.startswith("DEFAULT_"):
            return True
        if isinstance(node, ast.Attribute) and node.attr.startswith("DEFAULT_"):
            return True
        if isinstance(node, ast.Call) and (_called_name(node) or "").endswith("Policy"):
            return True
    return False


def _defaults(node: ast.ClassDef) -> Iterator[tuple[str, str, ast.expr]]:
    """(parameter, annotation, default) of the class's constructor."""
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            positional = item.args.posonlyargs + item.args.args
            with_default = positional[len(positional) - len(item.args.defaults):]
            pairs = list(zip(with_default, item.args.defaults, strict=True))
            pairs += [(a, d) for a, d in zip(item.args.kwonlyargs, item.args.kw_defaults,
                                             strict=True) if d]
            for arg, default in pairs:
                yield arg.arg, ast.unparse(arg.annotation) if arg.annotation else "", default
    if any("dataclass" in ast.unparse(d) for d in node.decorator_list):
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and item.value is not None:
                yield ast.unparse(item.target), ast.unparse(item.annotation), item.value


def default_policies(services: set[str]) -> list[str]:
    """Constructors of wallet/ with a default policy of their own (a
    ``DEFAULT_...`` constant, ``XPolicy()``), and services' constructors that
    would build a collaborating service themselves when given none."""
    found = []
    for file, tree in _sources("wallet"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            is_service = node.name in services
            for name, annotation, default in _defaults(node):
                # (A value object's field defaults are the defaults: the settings read them.)
                if not is_service and not any(isinstance(item, ast.FunctionDef)
                                              and item.name == "__init__" for item in node.body):
                    continue
                builds_its_own = is_service and any(
                    word in services for word in annotation.replace("|", " ").split())
                if _is_default_policy(default) or builds_its_own:
                    found.append(f"{file.relative_to(ROOT)}:{default.lineno}: {node.name}"
                                 f"({name}={ast.unparse(default)})")
    return found


def test_the_scan_sees_the_services():
    services = domain_services()
    assert {"Transfers", "ShopPayments", "Activity", "Pins", "DepositService", "WithdrawalService",
            "OperatorActions", "PayoutProcessor"} <= services


def test_adapters_build_no_service_of_their_own():
    assert direct_constructions(domain_services()) == []


def test_no_constructor_in_the_domain_defaults_to_a_policy():
    assert default_policies(domain_services()) == []


#: What a service is given by Services: another service's are its own, not to borrow.
COLLABORATORS = {"ledger", "pins", "limits"}


def reach_throughs(sources: Iterator[tuple[pathlib.Path, ast.Module]]) -> list[str]:
    """``self.<service>.ledger`` (or pins, limits): a service reaching through
    another to a third, instead of being given it by Services."""
    found = []
    for file, tree in sources:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr in COLLABORATORS
                    and isinstance(node.value, ast.Attribute)
                    and isinstance(node.value.value, ast.Name)
                    and node.value.value.id == "self"):
                found.append(f"{file.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_service_reaches_through_another():
    assert reach_throughs(_sources("wallet", *ADAPTERS)) == []

"""Everything a person can do on a page can be done through the API.

The rule: every public function defined in a services module (`moonvault.<app>.services`, each
module of a `services` package, and `moonvault.catalog.transitions`) is a service. Each one must
be called by an API operation, or be listed below with the reason it is not:

- READS compute something from the current state and change nothing; the test checks their
  source for anything that writes, so that a write cannot hide in this list;
- INTERNAL changes state but is not a person's action through the API: other services, commands
  or the demo loader call it, or it is a step of the browser login, for which a bearer token
  stands in whole.

Which services an operation calls is read from its handler's code: every call in the handler,
and in the module-level functions of the API modules that it calls, resolved to the function it
names. A declaration that a handler does not act on cannot make the test pass.
"""

import ast
import importlib
import inspect
import pkgutil
import textwrap

import moonvault
from moonvault.api import api

READS = {
    "moonvault.accounts.services.token_digest": "the SHA-256 digest of a raw token",
    "moonvault.accounts.services.second_factor_device": "a person's confirmed authenticator",
    "moonvault.audit.services.client_ip": "the address a request came from",
    "moonvault.allocation.services.mission_headroom": "mass still releasable above a reserve",
    "moonvault.calls.services.proposal_problems": "what still blocks a submission",
    "moonvault.calls.services.eligibility_checks": "the automatic screening rules' results",
    "moonvault.review.services.panel_reviewers": "the members of a call's panel",
    "moonvault.review.services.expertise_affinity": "overlap of two keyword sets",
    "moonvault.loans.services.common.balance_tolerance_ug": "how far two weighings may differ",
    "moonvault.loans.services.obligations.loan_obligations": "a loan's dated obligations",
    "moonvault.loans.services.obligations.loans_holding": "loans whose samples are still out",
    "moonvault.loans.services.obligations.compliance_list": "open loans with their next duty",
    "moonvault.loans.services.research.destructive_used_ug": "mass a loan has consumed so far",
    "moonvault.loans.services.research.closure_blockers": "what stops a loan from closing",
}

INTERNAL = {
    "moonvault.accounts.services.role_groups_ensure": "creates the role groups for person_create",
    "moonvault.accounts.services.person_create": (
        "creates a login with a password, for the demo loader and the test fixtures; the admin "
        "pages create users through Django's own forms, and passwords are not sent through "
        "API tokens"
    ),
    "moonvault.accounts.services.second_factor_enrolment_start": (
        "the login's second step (pages only): a bearer token replaces the whole login"
    ),
    "moonvault.accounts.services.second_factor_check": (
        "the login's second step (pages only): a bearer token replaces the whole login"
    ),
    "moonvault.audit.services.audit_record": "written by the services and the login it records",
    "moonvault.catalog.services.samples_receive": (
        "sample_receive for thousands at once, for the catalog import commands; a person receives "
        "one sample at a time (POST /samples)"
    ),
    "moonvault.catalog.transitions.samples_transition": (
        "the state step under allocation, shipping, display and return; only those services call it"
    ),
    "moonvault.custody.services.ledger_lock": "locks the ledger head inside another service",
    "moonvault.custody.services.events_record": "appends the events of another service",
    "moonvault.loans.services.common.loan_for": "locks the loan another loan service changes",
    "moonvault.loans.services.incidents.incident_open": (
        "opened by the services that find a discrepancy (receipt, return, stock check)"
    ),
    "moonvault.loans.services.obligations.obligations_check": (
        "the daily `check-obligations` command; no person runs it from a page"
    ),
    "moonvault.review.services.refuse_own_proposal": (
        "the conflict check of the committee's services, inside each of them"
    ),
    "moonvault.review.services.ranking_compute": (
        "run by call_transition when a call enters ranking"
    ),
}

# Calls that change the database. A function in READS must contain none of them.
WRITE_ATTRIBUTES = {
    "save",
    "create",
    "bulk_create",
    "bulk_update",
    "update",
    "delete",
    "get_or_create",
    "update_or_create",
    "select_for_update",
    "create_user",
    "atomic",
}


def _service_modules():
    modules = [importlib.import_module("moonvault.catalog.transitions")]
    for app in pkgutil.iter_modules(moonvault.__path__):
        if not app.ispkg:
            continue
        try:
            module = importlib.import_module(f"moonvault.{app.name}.services")
        except ModuleNotFoundError as exc:
            if exc.name != f"moonvault.{app.name}.services":
                raise
            continue
        modules.append(module)
        if hasattr(module, "__path__"):
            modules += [
                importlib.import_module(f"{module.__name__}.{sub.name}")
                for sub in pkgutil.iter_modules(module.__path__)
            ]
    return modules


def _name(function) -> str:
    function = inspect.unwrap(function)
    return f"{function.__module__}.{function.__qualname__}"


def service_functions() -> dict[str, object]:
    found = {}
    for module in _service_modules():
        for name, value in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(value):
                continue
            if inspect.unwrap(value).__module__ == module.__name__:
                found[_name(value)] = value
    return found


def _resolve(node, namespace: dict):
    """The object an expression such as `services.sample_split` names, or None."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _is_api_module(name: str) -> bool:
    return name == "moonvault.api" or (
        name.startswith("moonvault.") and name.split(".")[-1].startswith("api")
    )


def called_functions(function, seen=None) -> set[str]:
    """Every function a handler calls, following calls into helpers of the API modules."""
    seen = set() if seen is None else seen
    function = inspect.unwrap(function)
    if function in seen:
        return set()
    seen.add(function)
    closure = inspect.getclosurevars(function)
    namespace = {**function.__globals__, **closure.nonlocals}
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = _resolve(node.func, namespace)
        if not inspect.isfunction(target):
            continue
        names.add(_name(target))
        if _is_api_module(inspect.unwrap(target).__module__):
            names |= called_functions(target, seen)
    return names


def api_operations():
    for _, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    yield f"{method} {path}", operation.view_func


def exposed_services() -> dict[str, list[str]]:
    services = service_functions()
    exposed: dict[str, list[str]] = {}
    for operation, handler in api_operations():
        for name in called_functions(handler) & services.keys():
            exposed.setdefault(name, []).append(operation)
    return exposed


def test_the_rule_finds_the_services_of_every_app():
    apps = {name.split(".")[1] for name in service_functions()}
    assert {"accounts", "catalog", "custody", "calls", "review", "allocation", "loans"} <= apps
    assert "moonvault.catalog.services.sample_split" in service_functions()
    assert "moonvault.loans.services.research.loan_close" in service_functions()


def test_the_call_reader_sees_services_called_through_a_helper_of_the_api_module():
    exposed = exposed_services()
    assert (
        "DELETE /proposals/{proposal_id}/team/{part_id}"
        in (exposed["moonvault.calls.services.proposal_part_remove"])
    )


def test_every_service_a_person_uses_has_an_api_operation():
    exposed = exposed_services()
    missing = sorted(name for name in service_functions() if name not in exposed | READS | INTERNAL)
    assert not missing, "services with no API operation: " + ", ".join(missing)


def test_the_lists_name_existing_services_that_no_operation_calls():
    services = service_functions()
    exposed = exposed_services()
    for name in READS | INTERNAL:
        assert name in services, f"{name} is listed but is not a service any more"
        assert name not in exposed, f"{name} is listed but {exposed.get(name)} call it"
    assert not READS.keys() & INTERNAL.keys()


def test_the_functions_listed_as_reads_write_nothing():
    services = service_functions()
    for name in READS:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(services[name]))))
        writes = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in WRITE_ATTRIBUTES
        }
        assert not writes, f"{name} is listed as a read but calls {', '.join(sorted(writes))}"
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        namespace = inspect.unwrap(services[name]).__globals__
        called = {_name(namespace[c]) for c in calls if inspect.isfunction(namespace.get(c))}
        assert not called & (services.keys() - READS.keys()), (name, called)

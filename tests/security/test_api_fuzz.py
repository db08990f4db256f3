"""Schemathesis against the published OpenAPI document, in-process through the WSGI app.

Every operation gets generated requests (valid and invalid ones) sent with the bearer token of a
role drawn for each example, with path parameters that often name a real row of the world so that
the request gets past "not found". Every answer must be no server error, have a documented
status and content type, and match the schema documented for its status; and an operation the
permission table denies a role must never answer that role with success.
"""

import itertools

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from moonvault.api import api
from tests.security.test_permission_matrix import API, API_ARGS
from tests.security.world import ROLES, credentials_for, world_in_one_transaction

pytestmark = pytest.mark.django_db

world = pytest.fixture(scope="module")(world_in_one_transaction)
credentials = pytest.fixture(scope="module")(credentials_for)

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
schema.app = get_wsgi_application()

# Each example is one request; 20 per operation keeps the whole run to about a minute per database.
EXAMPLES = 20


def _operation_name(case) -> str:
    return f"{case.operation.method.upper()} {case.operation.path.removeprefix('/api/v1')}"


@pytest.fixture(autouse=True, scope="module")
def connection_kept_open():
    """The WSGI handler closes the database connection after each request, which would end the
    test's transaction; Django's test client does the same as this for its own requests."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


# Schemathesis owns the test's @given, so each example takes the next role in turn, and every
# other round of roles swaps the generated path parameters for rows that exist.
TURN = itertools.count()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_fails_or_strays_from_its_documentation(case, world, credentials):
    name = _operation_name(case)
    turn = next(TURN)
    role = ROLES[turn % len(ROLES)]
    args = API_ARGS.get(name, {})
    for param in list(case.path_parameters or {}):
        key = args.get(param, param)
        if key in world.ids and (turn // len(ROLES)) % 2 == 0:
            case.path_parameters[param] = world.ids[key]
    token = credentials.tokens[role]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = case.call(headers=headers)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
        headers=headers,
    )
    if role not in API[name]:
        assert not 200 <= response.status_code < 300, f"{role} was let in: {response.status_code}"

import pytest

pytestmark = pytest.mark.django_db

READ_PATHS = [
    "/api/v1/missions",
    "/api/v1/missions/{code}",
    "/api/v1/samples",
    "/api/v1/samples/{identifier}",
    "/api/v1/samples/{identifier}/genealogy",
    "/api/v1/samples/{identifier}/timeline",
    "/api/v1/ledger/head",
    "/api/v1/me",
]


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_openapi_3_with_a_title_and_version(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Moonvault API"
    assert schema["info"]["version"]


def test_the_schema_lists_every_read_endpoint_as_a_get(schema):
    for path in READ_PATHS:
        assert "get" in schema["paths"][path], path


def test_every_operation_is_documented_and_its_references_resolve(schema):
    components = schema["components"]["schemas"]
    operation_ids = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], (method, path)
            assert operation.get("summary"), (method, path)
            operation_ids.append(operation["operationId"])
            for response in operation["responses"].values():
                for media in response.get("content", {}).values():
                    ref = media["schema"].get("$ref")
                    if ref:
                        assert ref.removeprefix("#/components/schemas/") in components, ref
    assert len(operation_ids) == len(set(operation_ids))


def test_the_sample_filters_are_documented_as_query_parameters(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/samples"]["get"]["parameters"]}
    assert {"mission", "form", "pool", "state", "mass_min_ug", "mass_max_ug", "q"} <= names
    assert {"limit", "offset"} <= names


def test_the_public_reads_need_no_authentication_but_me_does(schema):
    assert "security" not in schema["paths"]["/api/v1/samples"]["get"]
    assert schema["paths"]["/api/v1/me"]["get"]["security"]

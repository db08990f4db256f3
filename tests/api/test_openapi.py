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


# --- descriptions and examples -------------------------------------------------------------------


def _component(schema, ref: str) -> dict:
    return schema["components"]["schemas"][ref.removeprefix("#/components/schemas/")]


def exemplified(schema, node: dict) -> bool:
    """Whether a reader sees a concrete value for `node`: an example of its own, the values of an
    enum, or an example for each of its parts."""
    if {"example", "examples", "enum", "const"} & node.keys():
        return True
    if "$ref" in node:
        return exemplified(schema, _component(schema, node["$ref"]))
    if node.get("type") == "array":
        return exemplified(schema, node.get("items", {}))
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            branches = [b for b in node[key] if b.get("type") != "null"]
            return bool(branches) and all(exemplified(schema, b) for b in branches)
    if node.get("properties"):
        return all(exemplified(schema, p) for p in node["properties"].values())
    # A file download: its description says what the file holds.
    return node.get("format") == "binary"


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_summary_and_a_description(schema):
    bare = [
        name
        for name, operation in _operations(schema)
        if not (operation.get("summary", "").strip() and operation.get("description", "").strip())
    ]
    assert not bare, "operations without a summary or description: " + ", ".join(bare)


def test_every_request_body_has_an_example(schema):
    bare = []
    for name, operation in _operations(schema):
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            if not ({"example", "examples"} & media.keys() or exemplified(schema, media["schema"])):
                bare.append(f"{name} ({media_type})")
    assert not bare, "request bodies without an example: " + ", ".join(bare)


def test_every_success_answer_has_an_example(schema):
    bare = []
    for name, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if not str(status).startswith("2"):
                continue
            for media_type, media in response.get("content", {}).items():
                if not (
                    {"example", "examples"} & media.keys() or exemplified(schema, media["schema"])
                ):
                    bare.append(f"{name} {status} ({media_type})")
    assert not bare, "answers without an example: " + ", ".join(bare)


def _check_example(schema, node: dict, value, where: str) -> None:
    """An example has exactly the fields of its schema, and so do the objects inside it."""
    if "$ref" in node:
        node = _component(schema, node["$ref"])
    if value is None:
        return
    if node.get("type") == "array":
        for item in value:
            _check_example(schema, node.get("items", {}), item, where + "[]")
        return
    for key in ("anyOf", "oneOf"):
        if key in node:
            objects = [b for b in node[key] if "$ref" in b or b.get("properties")]
            if len(objects) == 1:
                _check_example(schema, objects[0], value, where)
            return
    properties = node.get("properties")
    if properties and isinstance(value, dict):
        assert set(value) <= set(properties), f"{where}: unknown {set(value) - set(properties)}"
        missing = set(node.get("required", ())) - set(value)
        assert not missing, f"{where}: missing {missing}"
        for field, sub in value.items():
            _check_example(schema, properties[field], sub, f"{where}.{field}")


def test_every_schema_example_has_the_fields_of_its_schema(schema):
    for name, component in schema["components"]["schemas"].items():
        for example in component.get("examples", []):
            _check_example(schema, component, example, name)

"""Every 4xx answer has one shape: {"detail": str, "errors": [{"field", "message"}]}."""

import pytest

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, field: str | None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["errors"], "an error answer names at least one problem"
    for error in body["errors"]:
        assert set(error) == {"field", "message"}
        assert isinstance(error["message"], str) and error["message"]
    assert field in [e["field"] for e in body["errors"]]
    return body


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"form": "cheese"}, "form"),
        ({"pool": "museum"}, "pool"),
        ({"state": "misplaced"}, "state"),
        ({"mass_min_ug": -1}, "mass_min_ug"),
        ({"mass_max_ug": -5}, "mass_max_ug"),
        ({"mass_min_ug": "heavy"}, "mass_min_ug"),
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"q": "x" * 65}, "q"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(client, params, field):
    assert_error(client.get("/api/v1/samples", params), 422, field)


def test_a_mass_range_upside_down_is_400_naming_the_lower_bound(client):
    body = assert_error(
        client.get("/api/v1/samples", {"mass_min_ug": 10, "mass_max_ug": 5}), 400, "mass_min_ug"
    )
    assert "mass_max_ug" in body["detail"]


def test_an_unknown_sample_is_404(client):
    assert_error(client.get("/api/v1/samples/CE5-NOPE"), 404, "identifier")


@pytest.mark.parametrize("suffix", ["genealogy", "timeline"])
def test_the_genealogy_and_timeline_of_an_unknown_sample_are_404(client, suffix):
    assert_error(client.get(f"/api/v1/samples/74001,9999/{suffix}"), 404, "identifier")


def test_an_unknown_mission_is_404(client):
    assert_error(client.get("/api/v1/missions/CE9"), 404, "code")


@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/api/v1/samples/a/b/c", "/api/v2/samples"])
def test_an_unknown_api_path_is_404_in_the_same_shape(client, path):
    assert_error(client.get(path), 404, None)

"""API shapes for the caller, their API tokens and institutions."""

from ninja import Schema
from pydantic import ConfigDict, Field

from moonvault.accounts.models import ApiToken


class MeOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": 4, "username": "curator", "roles": ["curator"]}]}
    )

    id: int = Field(description="the user id, as call panels and assignments name people")
    username: str
    roles: list[str]


class TokenIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "weighing script", "scope": "write"}]}
    )

    name: str = Field(max_length=100, description="what the token is for")
    scope: ApiToken.Scope = ApiToken.Scope.READ


class TokenCreatedOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "mv_6QdcFh1k0l3Zb0J8mB9yq2Yx0hLrW3kQm5nT7vU8sAc",
                    "prefix": "mv_6QdcF",
                    "name": "weighing script",
                    "scope": "write",
                }
            ]
        }
    )

    token: str = Field(description="shown this once; only its digest is kept")
    prefix: str
    name: str
    scope: str


class InstitutionIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Institute of Geochemistry",
                    "name_zh": "地球化学研究所",
                    "country": "CN",
                    "ror": "",
                }
            ]
        }
    )

    name: str = Field(max_length=200)
    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. CN")
    ror: str = Field("", description="ROR id, e.g. 05qbk4x57 or https://ror.org/05qbk4x57")
    name_zh: str = Field("", max_length=200)


class InstitutionOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "name": "Institute of Geochemistry",
                    "name_zh": "地球化学研究所",
                    "country": "CN",
                    "ror": "",
                }
            ]
        }
    )

    id: int
    name: str
    name_zh: str
    country: str
    ror: str

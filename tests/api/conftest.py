"""A small inventory in two missions, read through the API."""

import json
from dataclasses import dataclass

import pytest
from ninja.renderers import JSONRenderer

from moonvault.catalog.models import Form, Pool, Sample
from moonvault.catalog.services import ChildSpec, sample_split
from tests.conftest import GRAM

MG = 1_000


def as_schema_renders(schema, data):
    """The JSON that Ninja writes for `data` validated through `schema`: what a route that
    builds its answer as plain rows must give."""
    dumped = schema.model_validate(data).model_dump()
    return json.loads(JSONRenderer().render(None, dumped, response_status=200))


@dataclass
class Inventory:
    regolith: Sample
    regolith_children: list[Sample]
    grandchild: Sample
    rock: Sample
    rock_split: Sample


@pytest.fixture
def inventory(receive, mission_ce5, mission_a17):
    regolith = receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
    children = sample_split(
        actor=None,
        sample_id=regolith.id,
        children=[ChildSpec(500 * MG), ChildSpec(300 * MG, form=Form.POWDER)],
        loss_ug=7,
    )
    (grandchild,) = sample_split(actor=None, sample_id=children[0].id, children=[ChildSpec(MG)])
    rock = receive(
        "74001,6040", mission_a17, 40 * GRAM, form=Form.ROCK_FRAGMENT, pool=Pool.PERMANENT
    )
    (rock_split,) = sample_split(actor=None, sample_id=rock.id, children=[ChildSpec(2 * GRAM)])
    return Inventory(regolith, children, grandchild, rock, rock_split)

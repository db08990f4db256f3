import pytest

from moonvault.catalog.models import Form, Pool
from moonvault.catalog.services import ChildSpec, sample_split
from tests.conftest import GRAM


@pytest.fixture
def regolith(receive, mission_ce5):
    return receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)


@pytest.fixture
def family(regolith):
    """The regolith split into two children, the first split again."""
    children = sample_split(
        actor=None,
        sample_id=regolith.pk,
        children=[ChildSpec(250_000), ChildSpec(1_500, form=Form.POWDER)],
        loss_ug=12,
        reason="first allocation round",
    )
    (grandchild,) = sample_split(actor=None, sample_id=children[0].pk, children=[ChildSpec(999)])
    return regolith, children, grandchild


@pytest.fixture
def apollo_rock(receive, mission_a17):
    return receive(
        "74001,6040", mission_a17, 40 * GRAM, form=Form.ROCK_FRAGMENT, pool=Pool.PERMANENT
    )

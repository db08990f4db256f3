"""The sample genealogy: materialized paths, ancestors and descendants in one query each."""

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moonvault.catalog.models import PATH_SEGMENT, path_ids, path_segment
from moonvault.catalog.selectors import (
    sample_ancestor_nodes,
    sample_child_count,
    sample_children_nodes,
    sample_descendant_count,
    sample_descendants,
)
from moonvault.catalog.services import ChildSpec, sample_split
from tests.conftest import GRAM

LARGEST_ID = 36**PATH_SEGMENT - 1
ids = st.integers(min_value=1, max_value=LARGEST_ID)


def split(sample, *masses):
    return sample_split(actor=None, sample_id=sample.id, children=[ChildSpec(m) for m in masses])


@pytest.fixture
def chain(receive, mission_a17):
    """A root and twelve generations below it, each split from the one before."""
    samples = [receive("70001", mission_a17, 100 * GRAM)]
    for generation in range(12):
        samples += split(samples[-1], 50 * GRAM >> generation)
    return samples


@pytest.fixture
def wide(receive, mission_ce5):
    """A root with 60 children; the first three have two children each."""
    root = receive("CE5C0000YJFM00101", mission_ce5, 100 * GRAM)
    children = split(root, *[GRAM] * 60)
    grandchildren = {c.id: split(c, 1_000, 2_000) for c in children[:3]}
    return root, children, grandchildren


def test_a_root_path_is_its_own_fixed_width_base36_id(receive, mission_ce5):
    root = receive("CE5C0000YJFM00101", mission_ce5, GRAM)
    assert root.path == path_segment(root.id)
    assert len(root.path) == PATH_SEGMENT
    assert (root.depth, root.ancestor_ids, root.parent_id) == (0, [], None)


def test_a_child_path_extends_its_parent_path_by_its_own_id(chain):
    for parent, child in pairwise(chain):
        assert child.path == parent.path + path_segment(child.id)
        assert child.depth == parent.depth + 1
    leaf = chain[-1]
    assert path_ids(leaf.path) == [s.id for s in chain]
    assert leaf.ancestor_ids == [s.id for s in chain[:-1]]
    assert len(leaf.path) == 13 * PATH_SEGMENT


def test_path_segments_are_base36_digits_padded_to_a_fixed_width():
    assert path_segment(1) == "0000001"
    assert path_segment(35) == "000000z"
    assert path_segment(36) == "0000010"
    assert path_segment(LARGEST_ID) == "zzzzzzz"
    with pytest.raises(ValueError, match="does not fit"):
        path_segment(LARGEST_ID + 1)


@given(st.lists(ids, min_size=1, max_size=20))
def test_a_path_reads_back_as_the_ids_it_was_written_from(sample_ids):
    assert path_ids("".join(path_segment(i) for i in sample_ids)) == sample_ids


@given(ids, ids)
def test_segments_sort_as_bytes_in_the_order_of_their_ids(a, b):
    # Descendant range scans rely on this: string order of paths is numeric order of ids.
    assert (path_segment(a) < path_segment(b)) == (a < b)


def test_ancestors_come_root_first_in_one_query_at_any_depth(chain, django_assert_num_queries):
    for depth, sample in enumerate(chain[1:], start=1):
        with django_assert_num_queries(1):
            ancestors = sample_ancestor_nodes(sample=sample)
        assert [a["identifier"] for a in ancestors] == [s.identifier for s in chain[:depth]]


def test_a_root_has_no_ancestors(chain, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert sample_ancestor_nodes(sample=chain[0]) == []


def test_descendants_of_a_deep_line_come_in_one_query(chain, django_assert_num_queries):
    with django_assert_num_queries(1):
        descendants = list(sample_descendants(sample=chain[0]))
    assert descendants == chain[1:]
    with django_assert_num_queries(1):
        assert list(sample_descendants(sample=chain[6])) == chain[7:]


def test_descendants_of_a_wide_tree_come_in_genealogy_order(wide, django_assert_num_queries):
    root, children, grandchildren = wide
    expected = []
    for child in children:
        expected += [child, *grandchildren.get(child.id, [])]
    with django_assert_num_queries(1):
        descendants = list(sample_descendants(sample=root))
    assert descendants == expected


def test_descendant_counts_include_every_generation_and_nothing_else(wide, chain):
    root, children, _ = wide
    assert sample_descendants(sample=root).count() == 60 + 6
    assert sample_descendants(sample=children[0]).count() == 2
    assert sample_descendants(sample=children[-1]).count() == 0
    assert sample_descendants(sample=chain[0]).count() == 12
    assert sample_descendants(sample=chain[-1]).count() == 0


def test_descendants_leave_out_siblings_and_their_lines(wide):
    _, children, grandchildren = wide
    first, second = children[:2]
    assert list(sample_descendants(sample=first)) == grandchildren[first.id]
    assert set(sample_descendants(sample=second)).isdisjoint(grandchildren[first.id])


def test_children_are_only_the_next_generation(wide, chain):
    root, children, _ = wide
    nodes = sample_children_nodes(sample=root)
    assert [n["identifier"] for n in nodes] == [c.identifier for c in children]
    assert [n["identifier"] for n in sample_children_nodes(sample=root, limit=3)] == [
        c.identifier for c in children[:3]
    ]
    assert sample_child_count(sample=root) == len(children) == 60
    assert sample_child_count(sample=children[0]) == 2
    assert sample_child_count(sample=chain[-1]) == 0
    assert sample_descendant_count(sample=root) == 60 + 6

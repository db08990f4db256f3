"""Review tests run on the same allocation round as the call tests."""

from tests.calls.conftest import institutions, make_call, people, round_

__all__ = ["institutions", "make_call", "people", "round_"]

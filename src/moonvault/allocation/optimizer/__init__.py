"""Optimisers for the allocation committee: reviewer assignment and sample mass allocation.

Pure Python on numpy, scipy (HiGHS) and OR-Tools (network flows); nothing here touches Django,
so the optimisers can be run and tested on plain data. ``solve_assignment`` assigns reviewers to
proposals, ``solve_allocation`` allocates sample mass under the rank rule and
``greedy_allocation`` is the by-hand baseline.
"""

from .allocation import funded_units, solve_allocation
from .assignment import (
    AffinityTable,
    AssignmentProblem,
    AssignmentResult,
    InfeasibilityReason,
    Reviewer,
    solve_assignment,
)
from .greedy import greedy_allocation
from .model import (
    AllocationResult,
    Portion,
    Request,
    RequestOutcome,
    Round,
    Source,
    verify_allocation,
)

__all__ = [
    "AffinityTable",
    "AllocationResult",
    "AssignmentProblem",
    "AssignmentResult",
    "InfeasibilityReason",
    "Portion",
    "Request",
    "RequestOutcome",
    "Reviewer",
    "Round",
    "Source",
    "funded_units",
    "greedy_allocation",
    "solve_allocation",
    "solve_assignment",
    "verify_allocation",
]

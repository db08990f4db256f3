"""Domain errors. Services raise these; the API and pages turn them into one error shape.

Each error carries the field it concerns (or None for the request as a whole) so that a form can
show it next to the right control and the API can name it in `errors[].field`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str | None
    message: str


class DomainError(Exception):
    """A request that breaks a rule of the domain. Nothing has been changed when it is raised."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, problems=None):
        super().__init__(message)
        self.message = message
        self.problems: list[FieldProblem] = list(problems or [FieldProblem(field, message)])


class NotFound(DomainError):
    status = 404


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    """The request is valid in itself but collides with the current state (e.g. not enough mass)."""

    status = 409

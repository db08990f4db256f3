"""Reads of the inventory, shared by pages, the API and commands."""

from dataclasses import dataclass

from django.db.models import QuerySet

from moonvault.catalog.models import (
    PATH_END,
    Form,
    Mission,
    Pool,
    Sample,
    State,
    StorageLocation,
    path_ids,
)
from moonvault.core.errors import DomainError, NotFound


@dataclass(frozen=True)
class SampleFilters:
    mission: str = ""
    form: str = ""
    pool: str = ""
    state: str = ""
    mass_min_ug: int | None = None
    mass_max_ug: int | None = None
    q: str = ""

    def validate(self) -> "SampleFilters":
        for name, choices in (("form", Form), ("pool", Pool), ("state", State)):
            value = getattr(self, name)
            if value and value not in choices.values:
                raise DomainError(
                    f"{value!r} is not one of: {', '.join(choices.values)}", field=name
                )
        for name in ("mass_min_ug", "mass_max_ug"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise DomainError("mass must not be negative", field=name)
        if (
            self.mass_min_ug is not None
            and self.mass_max_ug is not None
            and self.mass_min_ug > self.mass_max_ug
        ):
            raise DomainError("mass_min_ug is above mass_max_ug", field="mass_min_ug")
        return self


def mission_list() -> QuerySet[Mission]:
    return Mission.objects.prefetch_related("payloads").order_by("landed_on", "code")


def mission_get(*, code: str) -> Mission:
    mission = mission_list().filter(code=code).first()
    if mission is None:
        raise NotFound(f"mission {code!r} does not exist", field="code")
    return mission


def sample_search(*, filters: SampleFilters) -> QuerySet[Sample]:
    filters.validate()
    qs = Sample.objects.select_related("mission", "location")
    if filters.mission:
        qs = qs.filter(mission__code=filters.mission)
    if filters.form:
        qs = qs.filter(form=filters.form)
    if filters.pool:
        qs = qs.filter(pool=filters.pool)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.mass_min_ug is not None:
        qs = qs.filter(mass_ug__gte=filters.mass_min_ug)
    if filters.mass_max_ug is not None:
        qs = qs.filter(mass_ug__lte=filters.mass_max_ug)
    if filters.q:
        # Identifier prefix: a range on the byte-ordered unique index.
        q = filters.q.strip()
        qs = qs.filter(identifier__gte=q, identifier__lt=q + "\U0010ffff")
    return qs.order_by("identifier")


def sample_get(*, identifier: str) -> Sample:
    sample = (
        Sample.objects.select_related("mission", "location", "parent")
        .filter(identifier=identifier)
        .first()
    )
    if sample is None:
        raise NotFound(f"sample {identifier!r} does not exist", field="identifier")
    return sample


def sample_ancestors(*, sample: Sample) -> list[Sample]:
    """Root first; one query whatever the depth."""
    ids = path_ids(sample.path)[:-1]
    by_id = {s.id: s for s in Sample.objects.filter(id__in=ids).select_related("mission")}
    return [by_id[i] for i in ids]


def sample_descendants(*, sample: Sample) -> QuerySet[Sample]:
    """Every sample split from this one, at any depth, in genealogy order."""
    return Sample.objects.filter(path__gt=sample.path, path__lt=sample.path + PATH_END).order_by(
        "path"
    )


def sample_children(*, sample: Sample) -> QuerySet[Sample]:
    return Sample.objects.filter(parent=sample).order_by("id")


def location_get(*, code: str) -> StorageLocation:
    location = StorageLocation.objects.filter(code=code).first()
    if location is None:
        raise NotFound(f"storage location {code!r} does not exist", field="location")
    return location

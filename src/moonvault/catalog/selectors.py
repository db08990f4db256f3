"""Reads of the inventory, shared by pages, the API and commands."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import F, Func, IntegerField, Q, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from moonvault.catalog.facets import (
    DIMENSIONS,
    FACET_COLUMNS,
    facet_counts,
    facet_table_rows,
    mass_split,
)
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
from moonvault.catalog.text_index import (
    sample_text_counted,
    sample_text_filter,
    sample_text_way,
)
from moonvault.core.db import FixedQuery
from moonvault.core.errors import DomainError, NotFound
from moonvault.core.units import format_mass
from moonvault.loans.models import PublicationUse

TEXT_MAX = 100
# Matches of a filter the facet table cannot hold (identifier prefix, text, publications, a mass
# range's edge buckets) are counted up to this many and no further: counting every match costs
# time in proportion to the matches. Beyond it the total says "more than" and the facet options
# show no counts.
COUNT_LIMIT = 5_000
# After every identifier with a given prefix, in byte order: the end of a prefix's range.
_PREFIX_END = "\U0010ffff"
# Sort keys of the catalog; the id breaks ties so that pages never overlap.
SORTS = {
    "identifier": ("identifier",),
    "-identifier": ("-identifier",),
    "mass": ("mass_ug", "id"),
    "-mass": ("-mass_ug", "-id"),
    # By mission in the order the missions were entered, so that an index gives the order.
    "mission": ("mission_id", "identifier"),
    "-mission": ("-mission_id", "-identifier"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}


@dataclass(frozen=True)
class SampleFilters:
    mission: str = ""
    form: str = ""
    pool: str = ""
    state: str = ""
    mass_min_ug: int | None = None
    mass_max_ug: int | None = None
    q: str = ""
    text: str = ""
    has_publications: bool = False

    def validate(self) -> "SampleFilters":
        if len(self.text.strip()) > TEXT_MAX:
            raise DomainError(
                _("the text is longer than %(text_max)s characters") % {"text_max": TEXT_MAX},
                field="text",
            )
        for name, choices in (("form", Form), ("pool", Pool), ("state", State)):
            value = getattr(self, name)
            if value and value not in choices.values:
                raise DomainError(
                    _("%(value)s is not one of: %(values)s")
                    % {"value": repr(value), "values": ", ".join(choices.values)},
                    field=name,
                )
        for name in ("mass_min_ug", "mass_max_ug"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise DomainError(_("mass must not be negative"), field=name)
        if (
            self.mass_min_ug is not None
            and self.mass_max_ug is not None
            and self.mass_min_ug > self.mass_max_ug
        ):
            raise DomainError(_("mass_min_ug is above mass_max_ug"), field="mass_min_ug")
        return self


def mission_list() -> QuerySet[Mission]:
    return Mission.objects.prefetch_related("payloads").order_by("landed_on", "code")


def mission_get(*, code: str) -> Mission:
    mission = mission_list().filter(code=code).first()
    if mission is None:
        raise NotFound(_("mission %(code)s does not exist") % {"code": repr(code)}, field="code")
    return mission


def _sort_checked(sort: str) -> None:
    if sort not in SORTS:
        raise DomainError(
            _("%(sort)s is not one of: %(sorts)s")
            % {"sort": repr(sort), "sorts": ", ".join(SORTS)},
            field="sort",
        )


def sample_search(*, filters: SampleFilters, sort: str = "identifier") -> QuerySet[Sample]:
    filters.validate()
    _sort_checked(sort)
    return (
        _sorted(filters, sort, _mass_index(filters, sort))
        # The missions in a second query, not a join: with a join SQLite may loop over the
        # missions first and sort all their samples (statistics missing or stale).
        .select_related("location")
        .prefetch_related("mission")
    )


def _sorted(
    filters: SampleFilters, sort: str, mass_index: bool, text_way: str | None = None
) -> QuerySet[Sample]:
    return _filtered(filters, mass_index=mass_index, text_way=text_way).order_by(*SORTS[sort])


def _mass_index(filters: SampleFilters, sort: str) -> bool:
    return (
        connection.vendor != "sqlite"
        or SORTS[sort][0].endswith("mass_ug")
        or not _many_in_mass_range(filters)
    )


# SampleOut's fields and the columns they are read from; `mass` is formatted from `mass_ug`.
_SEARCH_ROW = {
    "identifier": "identifier",
    "igsn": "igsn",
    "mission": "mission_id",
    "parent": "parent__identifier",
    "depth": "depth",
    "form": "form",
    "pool": "pool",
    "state": "state",
    "location": "location__code",
    "pristine": "pristine",
    "mass_ug": "mass_ug",
    "classification": "classification",
    "subtype": "subtype",
}


def sample_search_rows(
    *,
    filters: SampleFilters,
    sort: str = "identifier",
    offset: int,
    limit: int,
    counts: "SampleCounts",
) -> list[dict]:
    """A page of the search as the API lists it (SampleOut's fields), read as plain rows.

    Building a model instance per sample, its parent and its location, and then reading them
    back through the schema's resolvers cost several times the query itself. `counts` are the
    search's (`sample_search_counts`): they name the missions, and a page past an exact count
    is known to be empty without asking the database (a text no sample holds, a typing error).
    """
    filters.validate()
    _sort_checked(sort)
    if counts.exact and offset >= counts.total:
        return []
    values = _given(filters)
    text_way = sample_text_way(values["text"], counting=False) if "text" in values else None
    query = _page_query(
        tuple(values),
        filters.has_publications,
        text_way,
        sort,
        _mass_index(filters, sort),
        offset,
        limit,
    )
    items = [dict(zip(_SEARCH_ROW, row, strict=True)) for row in query.rows(**values)]
    for item in items:
        item["mission"] = counts.mission_codes[item["mission"]]
        item["mass"] = format_mass(item["mass_ug"])
    return items


# The filters a search's compiled queries take as parameters, with their types.
_PARAMETERS = {
    "q": str,
    "mission": str,
    "form": str,
    "pool": str,
    "state": str,
    "mass_min_ug": int,
    "mass_max_ug": int,
    "text": str,
}


def _given(filters: SampleFilters, *, facets: bool = True) -> dict[str, str | int]:
    """The filters given, as parameters of a search's compiled queries (`facets=False`: but
    the four facet filters)."""
    values = {}
    for name in _PARAMETERS:
        if facets or name not in DIMENSIONS:
            value = getattr(filters, name)
            value = value.strip() if isinstance(value, str) else value
            if value not in ("", None):
                values[name] = value
    return values


# Building and compiling a search's query cost several times its run in the database, so each
# is compiled once per set of filters given and per way of taking them. A compiled query holds
# some 25 KiB (its query and compiler): 128 of each kind are about 3 MB a process.
@lru_cache(maxsize=128)
def _page_query(
    given: tuple[str, ...],
    has_publications: bool,
    text_way: str | None,
    sort: str,
    mass_index: bool,
    offset: int,
    limit: int,
) -> FixedQuery:
    """A page of a search by the `given` filters."""

    def build(**values) -> QuerySet:
        filters = SampleFilters(has_publications=has_publications, **values)
        rows = _sorted(filters, sort, mass_index, text_way).values_list(*_SEARCH_ROW.values())
        return rows[offset : offset + limit]

    return FixedQuery(Sample, build, **{name: _PARAMETERS[name] for name in given})


@lru_cache(maxsize=128)
def _counting_query(
    given: tuple[str, ...], has_publications: bool, text_way: str | None, around: str, limit: int
) -> FixedQuery:
    """The samples matching the `given` filters, up to `limit` of them, counted or grouped
    (`around`)."""

    def build(**values) -> QuerySet:
        filters = SampleFilters(has_publications=has_publications, **values)
        return _limited(_filtered(filters, counting=True, text_way=text_way), around, limit)

    return FixedQuery(Sample, build, around, **{name: _PARAMETERS[name] for name in given})


def _counting(filters: SampleFilters, *, facets: bool) -> Callable[[str], list[tuple]]:
    """Runs the compiled count or grouping (its `around`) of the samples matching `filters`
    (`facets=False`: but the four facet filters) up to COUNT_LIMIT + 1."""
    values = _given(filters, facets=facets)
    text_way = sample_text_way(values["text"], counting=True) if "text" in values else None
    return lambda around: _counting_query(
        tuple(values), filters.has_publications, text_way, around, COUNT_LIMIT + 1
    ).rows(**values)


def _counting_of(samples: QuerySet[Sample]) -> Callable[[str], list[tuple]]:
    """Runs a count or grouping (its `around`) of `samples` up to COUNT_LIMIT + 1, compiled
    for this call."""

    def run(around: str) -> list[tuple]:
        sql, params = _limited(samples, around, COUNT_LIMIT + 1).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(around.format(sql), params)
            return cursor.fetchall()

    return run


# What the counts read from the samples matching a search, up to COUNT_LIMIT + 1 of them: the
# database stops reading there (LIMIT inside, COUNT or GROUP BY outside).
_COUNTED = "SELECT COUNT(*) FROM ({}) AS matches"
_GROUPED = (
    "SELECT mission_id, form, pool, state, COUNT(*) "
    "FROM ({}) AS matches GROUP BY mission_id, form, pool, state"
)


def _limited(samples: QuerySet[Sample], around: str, limit: int) -> QuerySet:
    if around == _GROUPED:
        samples = samples.values(*FACET_COLUMNS)
    elif not samples.query.combinator:
        # Their ids alone, which an index holds; a union already has the columns it reads.
        samples = samples.values("pk")
    return samples.order_by()[:limit]


# SQLite keeps no statistics on value ranges. Given a mass range it reads every sample in the
# range through the mass index and sorts them, which at 1,000,000 samples and a broad range
# takes half a second; walking the sort order and skipping the samples outside the range finds
# a page in a few hundred rows. So when at least this many samples are in the range, the range
# is written so that no index serves it.
MANY_IN_RANGE = 5_000


def _many_in_mass_range(filters: SampleFilters) -> bool:
    if filters.mass_min_ug is None and filters.mass_max_ug is None:
        return False
    in_range = _filtered(
        SampleFilters(mass_min_ug=filters.mass_min_ug, mass_max_ug=filters.mass_max_ug)
    )
    return in_range.order_by().values("pk")[:MANY_IN_RANGE].count() == MANY_IN_RANGE


def _filtered(
    filters: SampleFilters,
    *,
    facets: bool = True,
    mass_index: bool = True,
    counting: bool = False,
    text_way: str | None = None,
) -> QuerySet[Sample]:
    """The samples matching the filters; with `facets=False`, all but the four facet filters;
    with `mass_index=False`, a mass range that no index can serve; with `counting`, written to
    be counted up to a limit rather than paged in a sort order. `text_way` is how a text is
    found (`sample_text_way`), decided here when not given."""
    qs = Sample.objects.all()
    if facets and filters.mission:
        # The mission's id as a scalar subquery rather than a join: the database then treats it
        # as a constant, and walks (mission, state, identifier) in order for the first page.
        mission_id = Mission.objects.filter(code=filters.mission).values("id")[:1]
        qs = qs.filter(mission_id=Subquery(mission_id))
    for name in ("form", "pool", "state"):
        if facets and getattr(filters, name):
            qs = qs.filter(**{name: getattr(filters, name)})
    mass = "mass_ug"
    if not mass_index:
        qs, mass = qs.alias(mass_unindexed=F("mass_ug") + 0), "mass_unindexed"
    if filters.mass_min_ug is not None:
        qs = qs.filter(**{f"{mass}__gte": filters.mass_min_ug})
    if filters.mass_max_ug is not None:
        qs = qs.filter(**{f"{mass}__lte": filters.mass_max_ug})
    if filters.q:
        # Identifier prefix: a range on the byte-ordered unique index. Its end is made by the
        # database, so that the prefix is the query's parameter as given (FixedQuery).
        q = filters.q.strip()
        qs = qs.filter(identifier__gte=q, identifier__lt=Concat(Value(q), Value(_PREFIX_END)))
    if filters.has_publications:
        # From the publication uses (few) to the samples, rather than a probe per sample.
        qs = qs.filter(pk__in=PublicationUse.objects.values("sample_id"))
    # Last: the counted form may combine two queries, which no filter can follow.
    if text := filters.text.strip():
        if counting:
            qs = sample_text_counted(qs, text, text_way)
        else:
            qs = qs.filter(sample_text_filter(text, text_way))
    return qs


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    # None when more than COUNT_LIMIT samples would have to be counted.
    count: int | None
    selected: bool


@dataclass(frozen=True)
class SampleCounts:
    # When `exact` is False, more than COUNT_LIMIT samples match and `total` is COUNT_LIMIT.
    total: int
    exact: bool
    facets: dict[str, list[FacetOption]]
    # "table" when the pre-counted facet table answered, "query" when the samples were counted,
    # "table+query" when a mass range's edge buckets were counted from the samples.
    source: str
    # Every mission's code by id, as read for the facet: the page of samples names them too.
    mission_codes: dict[int, str]


# Every search reads the missions (the facet's options and the page's codes): a fixed query
# through a plain cursor, which spares the ORM's compilation, most of its cost.
_MISSIONS = f"SELECT id, code, name, name_zh FROM {Mission._meta.db_table} ORDER BY landed_on, code"


def sample_search_counts(*, filters: SampleFilters) -> SampleCounts:
    """The number of matching samples, and per facet option the number it would give.

    With filters on mission, form, pool, state and mass only, the answer comes from the facet
    table and costs the same at any catalog size (plus the samples of at most two mass buckets
    when the range does not begin and end on bucket edges). An identifier prefix, text or
    publication filter cannot be pre-counted: then one GROUP BY over the samples passing those
    filters (the four facet filters left to Python) counts them, up to COUNT_LIMIT.
    """
    filters.validate()
    missions = _missions()
    selected = {
        name: getattr(filters, name) for name in ("form", "pool", "state") if getattr(filters, name)
    }
    if filters.mission:
        ids = [id_ for id_, code, *_names in missions if code == filters.mission]
        selected["mission"] = ids[0] if ids else None
    total = None
    if selected and not _only_table_filters(filters):
        # Counted with every filter first: past the limit, the matches of the filters without
        # the facets are past it too, and grouping them is spared.
        total = _total_up_to_limit(filters, selected)
    if total is not None and total > COUNT_LIMIT:
        rows, source = None, "query"
    else:
        rows, source = _facet_rows(filters)
    if rows is None:
        # Without a facet filter the samples just counted past the limit are the matches.
        if total is None and selected:
            total = _total_up_to_limit(filters, selected)
        counts, exact = None, total is not None and total <= COUNT_LIMIT
    else:
        found = facet_counts(rows, selected=selected)
        total, counts, exact = found.total, found.by_dimension, True
    choices = {
        "mission": [(id_, code, _mission_label(*names)) for id_, code, *names in missions],
        "form": [(v, v, label) for v, label in Form.choices],
        "pool": [(v, v, label) for v, label in Pool.choices],
        "state": [(v, v, label) for v, label in State.choices],
    }
    facets = {
        name: [
            FacetOption(
                value=value,
                label=str(label),
                count=None if counts is None else counts[name].get(key, 0),
                selected=getattr(filters, name) == value,
            )
            for key, value, label in choices[name]
        ]
        for name in DIMENSIONS
    }
    return SampleCounts(
        total=total if exact else COUNT_LIMIT,
        exact=exact,
        facets=facets,
        source=source,
        mission_codes={id_: code for id_, code, *_names in missions},
    )


def _facet_rows(filters: SampleFilters) -> tuple[list[tuple] | None, str]:
    """Rows of (mission_id, form, pool, state, n) over the samples passing every filter but the
    four facet filters; None when more than COUNT_LIMIT samples would have to be counted."""
    unweighed = replace(filters, mass_min_ug=None, mass_max_ug=None)
    if not _only_table_filters(unweighed):
        return _grouped_up_to_limit(_counting(filters, facets=False)), "query"
    split = mass_split(filters.mass_min_ug, filters.mass_max_ug)
    rows = facet_table_rows(buckets=split.buckets) if split.buckets else []
    if not split.edges:
        return rows, "table"
    edges = Q()
    for low, high in split.edges:
        edges |= Q(mass_ug__gte=low) & (Q() if high is None else Q(mass_ug__lte=high))
    edge_rows = _grouped_up_to_limit(
        _counting_of(_filtered(unweighed, facets=False, counting=True).filter(edges))
    )
    if edge_rows is None:
        return None, "query"
    return rows + edge_rows, "table+query" if split.buckets else "query"


def _grouped_up_to_limit(counting: Callable[[str], list[tuple]]) -> list[tuple] | None:
    """Rows of (mission_id, form, pool, state, n) of the samples `counting` reads (`_counting`,
    `_counting_of`); None when more than COUNT_LIMIT match.

    The matches are counted before they are grouped: past the limit the grouping is not needed,
    and counting them costs a fraction of it (an identifier prefix shared by more than 5,000 of
    1,000,000 samples: 0.1 ms against 3 ms on SQLite).
    """
    [(matches,)] = counting(_COUNTED)
    if matches > COUNT_LIMIT:
        return None
    if not matches:
        return []
    return counting(_GROUPED)


def _total_up_to_limit(filters: SampleFilters, selected: dict[str, object]) -> int:
    """The samples matching every filter, counted up to COUNT_LIMIT + 1."""
    if "mission" in selected and selected["mission"] is None:
        # A mission code that names no mission matches nothing: counting would read every sample.
        return 0
    [(matches,)] = _counting(filters, facets=True)(_COUNTED)
    return matches


def _only_table_filters(filters: SampleFilters) -> bool:
    return not (filters.q.strip() or filters.text.strip() or filters.has_publications)


def _missions() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_MISSIONS)
        return cursor.fetchall()


def mission_choices() -> list[tuple[str, str]]:
    """Every mission's code and name (in the active language), in landing order."""
    return [(code, _mission_label(*names)) for _id, code, *names in _missions()]


def _mission_label(name: str, name_zh: str) -> str:
    if name_zh and (get_language() or "").startswith("zh"):
        return name_zh
    return name


@dataclass(frozen=True)
class CatalogPage:
    page: Page
    counts: SampleCounts


def sample_catalog_page(
    *, filters: SampleFilters, sort: str = "identifier", number: str | int | None = 1, size: int
) -> CatalogPage:
    """One page of the catalog, its samples as the API lists them (`sample_search_rows`); an
    out-of-range or malformed page number gives the nearest."""
    counts = sample_search_counts(filters=filters)
    # Numbered from the count already made (from the facet table when it can), not a COUNT(*).
    paginator = Paginator([], size)
    paginator.count = counts.total
    page = paginator.get_page(number)
    # Plain rows: a model instance for each sample and its location cost the page more than
    # reading it.
    page.object_list = sample_search_rows(
        filters=filters,
        sort=sort,
        offset=(page.number - 1) * size,
        limit=size,
        counts=counts,
    )
    return CatalogPage(page=page, counts=counts)


def sample_get(*, identifier: str, related: bool = True) -> Sample:
    """The sample, with its mission, location and parent; with `related` False, only its id
    and identifier are read at first (any other field is read when used)."""
    samples = (
        Sample.objects.select_related("mission", "location", "parent")
        if related
        else Sample.objects.only("id", "identifier")
    )
    # Unordered: the identifier is unique, and an ordered query makes Django compare every
    # selected column with the order's.
    sample = next(iter(samples.filter(identifier=identifier).order_by()[:1]), None)
    if sample is None:
        raise _sample_missing(identifier)
    return sample


def _sample_missing(identifier: str) -> NotFound:
    return NotFound(
        _("sample %(identifier)s does not exist") % {"identifier": repr(identifier)},
        field="identifier",
    )


# The columns of a sample as the API shows it alone: its mission's code by a join.
_SAMPLE_ROW = {**_SEARCH_ROW, "mission": "mission__code"}


_GENEALOGY_SAMPLE = FixedQuery(
    Sample,
    lambda identifier: (
        Sample.objects.filter(identifier=identifier)
        .order_by()
        .values_list("id", "path", *_SAMPLE_ROW.values())[:1]
    ),
    identifier=str,
)


def sample_genealogy_rows(*, identifier: str) -> dict:
    """The genealogy as the API answers it (GenealogyOut's fields), read as plain rows: the
    sample, its ancestors from the root down, its children and its number of descendants.

    Model instances of the sample, its mission, location and parent cost more to build (and
    their query more to compile) than the work of all four queries in the database.
    """
    found = _GENEALOGY_SAMPLE.rows(identifier=identifier)
    if not found:
        raise _sample_missing(identifier)
    sample_id, path, *values = found[0]
    sample = dict(zip(_SAMPLE_ROW, values, strict=True))
    sample["mass"] = format_mass(sample["mass_ug"])
    # The queries below read only the id and the path.
    node = Sample(id=sample_id, path=path)
    return {
        "sample": sample,
        "ancestors": sample_ancestor_nodes(sample=node),
        "children": sample_children_nodes(sample=node),
        "descendant_count": sample_descendant_count(sample=node),
    }


def sample_ancestor_nodes(*, sample: Sample) -> list[dict]:
    """The ancestors, root first, as plain rows of GENEALOGY_NODE; one query whatever the
    depth."""
    ids = path_ids(sample.path)[:-1]
    if not ids:
        return []
    rows = _ancestors_query(len(ids)).rows(**{f"id{n}": i for n, i in enumerate(ids)})
    by_id = {row[0]: dict(zip(GENEALOGY_NODE, row[1:], strict=True)) for row in rows}
    return [by_id[i] for i in ids]


@cache
def _ancestors_query(depth: int) -> FixedQuery:
    """The ancestors of a sample at `depth`: one compiled query per depth (at most MAX_DEPTH)."""

    def build(**ids) -> QuerySet:
        ancestors = Sample.objects.filter(id__in=list(ids.values())).order_by()
        return ancestors.values_list("id", *GENEALOGY_NODE)

    return FixedQuery(Sample, build, **{f"id{n}": int for n in range(depth)})


def sample_descendants(*, sample: Sample) -> QuerySet[Sample]:
    """Every sample split from this one, at any depth, in genealogy order."""
    return _paths_between(sample.path, sample.path + PATH_END).order_by("path")


def _paths_between(low: str, high: str) -> QuerySet[Sample]:
    return Sample.objects.filter(path__gt=low, path__lt=high)


def _counted(samples: QuerySet[Sample]) -> QuerySet:
    """The number of `samples` as a query's one row, for a FixedQuery (`count()` runs at once)."""
    return samples.order_by().values_list(Func(template="COUNT(*)", output_field=IntegerField()))


_DESCENDANT_COUNT = FixedQuery(
    Sample, lambda low, high: _counted(_paths_between(low, high)), low=str, high=str
)


def sample_descendant_count(*, sample: Sample) -> int:
    """The number of `sample_descendants`, in a query compiled once."""
    return _DESCENDANT_COUNT.rows(low=sample.path, high=sample.path + PATH_END)[0][0]


def _children(parent: int) -> QuerySet[Sample]:
    return Sample.objects.filter(parent_id=parent)


_CHILD_COUNT = FixedQuery(Sample, lambda parent: _counted(_children(parent)), parent=int)


def sample_child_count(*, sample: Sample) -> int:
    return _CHILD_COUNT.rows(parent=sample.id)[0][0]


GENEALOGY_NODE = ("identifier", "depth", "form", "state", "mass_ug")


@cache
def _children_query(limit: int | None) -> FixedQuery:
    def build(parent: int) -> QuerySet:
        return _children(parent).order_by("id").values_list(*GENEALOGY_NODE)[:limit]

    return FixedQuery(Sample, build, parent=int)


def sample_children_nodes(*, sample: Sample, limit: int | None = None) -> list[dict]:
    """The children (the first `limit` of them, if given) as plain rows of GENEALOGY_NODE: a
    wide sample has hundreds, and a model instance for each costs more than the query."""
    rows = _children_query(limit).rows(parent=sample.id)
    return [dict(zip(GENEALOGY_NODE, row, strict=True)) for row in rows]


def location_get(*, code: str) -> StorageLocation:
    location = StorageLocation.objects.filter(code=code).first()
    if location is None:
        raise NotFound(
            _("storage location %(code)s does not exist") % {"code": repr(code)}, field="location"
        )
    return location

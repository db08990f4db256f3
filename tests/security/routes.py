"""Every route the site answers: the HTML URL patterns found by walking the URLconf, and the API
operations listed in the published OpenAPI document. Also how to fill in their parameters from
the world's rows, and a valid-looking body for each API operation built from its schema."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.world import World, pdf_upload


@dataclass(frozen=True)
class HtmlRoute:
    name: str  # the URL name with its namespace, or the pattern itself when it has no name
    pattern: str
    params: tuple[str, ...]


def html_routes() -> list[HtmlRoute]:
    """Every URL pattern outside the API, included ones too; the API is enumerated from its own
    document, where each operation (not each path) is a route."""
    found = []

    def walk(resolver, prefix, namespace):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                if entry.name:
                    name = f"{namespace}:{entry.name}" if namespace else entry.name
                else:
                    name = pattern
                params = tuple(entry.pattern.regex.groupindex)
                found.append(HtmlRoute(name, pattern, params))

    walk(get_resolver(), "", None)
    return [r for r in found if not r.name.startswith("api:")]


def _admin_model(name: str):
    """`admin:catalog_sample_change` → the Sample model (app labels may hold "_" too)."""
    rest = name.removeprefix("admin:")
    for model in apps.get_models():
        if rest.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
            return model
    raise LookupError(name)


def html_url(route: HtmlRoute, world: World, args: dict) -> str:
    """The route's URL with each parameter naming a row of the world."""
    values = {}
    for param in route.params:
        admin_row = param in {"object_id", "id", "pk"} and route.name.startswith("admin:")
        if admin_row and param not in args:
            row = _admin_model(route.name).objects.order_by("pk").first()
            # A model with no rows: the admin's answer to an unknown id is what gets checked.
            values[param] = str(row.pk if row else 1)
        else:
            key = args.get(param, param)
            values[param] = world.ids.get(key, key)
    if route.name.startswith("^") or route.name.endswith("$") or "<" in route.name:
        raise LookupError(f"{route.name} has no name to reverse")
    return reverse(route.name, kwargs=values)


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # as documented, with {placeholders}
    operation: dict

    @property
    def name(self) -> str:
        return f"{self.method} {self.path.removeprefix('/api/v1')}"


def api_routes(document: dict) -> list[ApiRoute]:
    return [
        ApiRoute(method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def api_url(route: ApiRoute, world: World, args: dict) -> str:
    values = {}
    for param in route.operation.get("parameters", []):
        if param["in"] == "path":
            key = args.get(param["name"], param["name"])
            values[param["name"]] = world.ids.get(key, key)
    return route.path.format(**values)


def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(schema["allOf"][0], document)
    return schema


def example(schema: dict, document: dict):
    """A small value that the schema accepts: the shape a real client sends, so that a request
    passes validation and reaches the permission check behind it."""
    schema = _resolve(schema, document)
    if "example" in schema:
        return schema["example"]
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s, document).get("type") != "null"]
            return example(options[0], document) if options else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = schema.get("required", [])
        properties = schema.get("properties", {})
        return {k: example(v, document) for k, v in properties.items() if k in required}
    if kind == "array":
        return [example(schema.get("items", {}), document)] * schema.get("minItems", 0)
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return (date.today() + timedelta(days=40)).isoformat()
        if fmt == "date-time":
            return (date.today() + timedelta(days=40)).isoformat() + "T12:00:00Z"
        if fmt == "binary":
            return pdf_upload()
        return "x" * max(schema.get("minLength", 1), 1)
    return None


def api_body(route: ApiRoute, document: dict) -> tuple[str, object] | None:
    """(content type, body) for the operation, or None when it takes no body."""
    body = route.operation.get("requestBody")
    if body is None:
        return None
    content_type, media = next(iter(body["content"].items()))
    return content_type, example(media.get("schema", {}), document)

"""The OpenAPI document of an app, assembled from its mounted routes.

Each route carries its own operation (``Route.doc``): the document lists exactly the
routes the process serves (the gateway's only where it is mounted). Path parameters are
filled in from the route's pattern; the one error shape is ``#/components/schemas/Error``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modelward.http.router import Route

__all__ = ["ERROR_SCHEMA", "document", "error_responses", "json_content"]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "type", "message"],
            "properties": {
                "code": {"type": "string"},
                "type": {"type": "string", "description": "the code again (OpenAI clients)"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def error_responses(*statuses: int) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Error"}
    return {str(code): {"description": "error", "content": json_content(ref)} for code in statuses}


def document(title: str, routes: Iterable[Route]) -> dict[str, Any]:
    from modelward import __version__

    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if route.doc is None:
            continue
        operation = dict(route.doc)
        given = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in route.params
            if (name, "path") not in given
        ]
        if params:
            operation["parameters"] = [*params, *operation.get("parameters", [])]
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": __version__},
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
        "paths": paths,
    }

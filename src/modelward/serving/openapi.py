"""The server's OpenAPI document (served at ``/openapi.json``, browsable at ``/docs``)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}

_TICKET = {
    "type": "object",
    "properties": {
        "ticket": {"type": "string"},
        "pending": {"type": "integer"},
        "accepted": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "unknown": {"type": "array", "items": {"type": "string"}},
        "rejected": {"type": "array", "items": {"type": "object"}},
    },
}

_ROW = {"type": "object", "additionalProperties": True, "description": "feature: value"}


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def openapi() -> dict[str, Any]:
    from modelward import __version__

    predict_body = {
        "oneOf": [
            {
                "type": "object",
                "required": ["inputs"],
                "properties": {"inputs": {"oneOf": [_ROW, {"type": "array", "items": _ROW}]}},
            },
            {
                "type": "object",
                "required": ["dataframe_records"],
                "properties": {"dataframe_records": {"type": "array", "items": _ROW}},
            },
            {
                "type": "object",
                "required": ["dataframe_split"],
                "properties": {
                    "dataframe_split": {
                        "type": "object",
                        "properties": {
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "data": {"type": "array", "items": {"type": "array"}},
                        },
                    }
                },
            },
        ]
    }
    feedback_item = {
        "type": "object",
        "required": ["request_id", "label"],
        "properties": {
            "request_id": {"type": "string"},
            "label": {"oneOf": [{"type": "string"}, {"type": "number"}]},
            "model": {"type": "string"},
        },
    }
    ok = {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    headers = [
        {
            "name": "X-Modelward-Environment",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "enum": ["production", "staging"]},
        },
        {"name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string"}},
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": "modelward serve", "version": __version__},
        "components": {
            "schemas": {"Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}, {}],
        "paths": {
            "/v1/models/{name}/predict": {
                "post": {
                    "summary": "Predict one row or many",
                    "parameters": [name, *headers],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": predict_body}},
                    },
                    "responses": {"200": ok, **_errors(400, 401, 403, 404, 413, 422, 503)},
                }
            },
            "/v1/models/{name}": {
                "get": {
                    "summary": "A served model: deployments, versions, inputs",
                    "parameters": [name],
                    "responses": {"200": ok, **_errors(401, 403, 404)},
                }
            },
            "/v1/feedback": {
                "post": {
                    "summary": "Ground-truth labels for earlier predictions",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        feedback_item,
                                        {"type": "array", "items": feedback_item},
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": ok,
                        "202": {
                            "description": "some ids were not known in memory: they are "
                            "matched with the prediction log in the background; see the "
                            "Location (GET /v1/feedback/{ticket})",
                            "content": {"application/json": {"schema": _TICKET}},
                        },
                        **_errors(400, 401, 403, 404, 422, 503),
                    },
                }
            },
            "/v1/feedback/{ticket}": {
                "get": {
                    "summary": "What became of the labels a 202 left pending",
                    "parameters": [
                        {
                            "name": "ticket",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the ticket",
                            "content": {"application/json": {"schema": _TICKET}},
                        },
                        **_errors(401, 403, 404),
                    },
                }
            },
            "/healthz": {"get": {"summary": "Alive", "responses": {"200": ok}}},
            "/readyz": {
                "get": {
                    "summary": "Deployments loaded, DB reachable, the log takes rows",
                    "responses": {"200": ok, "503": ok},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {"description": "text", "content": {"text/plain": {}}},
                        **_errors(401, 403),
                    },
                }
            },
        },
    }

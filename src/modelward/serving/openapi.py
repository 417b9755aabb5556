"""The OpenAPI operations of the prediction routes (``/openapi.json`` assembles them with
the other groups', see :mod:`modelward.http.openapi`)."""

from __future__ import annotations

from typing import Any

from modelward.http.openapi import error_responses, json_content

__all__ = ["FEEDBACK", "MODEL_INFO", "PREDICT", "TICKET"]

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
_OK = {"description": "ok", "content": json_content({"type": "object"})}
_PREDICT_BODY = {
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
_FEEDBACK_ITEM = {
    "type": "object",
    "required": ["request_id", "label"],
    "properties": {
        "request_id": {"type": "string"},
        "label": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        "model": {"type": "string"},
    },
}
_HEADERS = [
    {
        "name": "X-Modelward-Environment",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": ["production", "staging"]},
    },
    {"name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string"}},
]

PREDICT: dict[str, Any] = {
    "summary": "Predict one row or many",
    "parameters": _HEADERS,
    "requestBody": {"required": True, "content": json_content(_PREDICT_BODY)},
    "responses": {"200": _OK, **error_responses(400, 401, 403, 404, 413, 422, 503)},
}
MODEL_INFO: dict[str, Any] = {
    "summary": "A served model: deployments, versions, inputs",
    "responses": {"200": _OK, **error_responses(401, 403, 404)},
}
FEEDBACK: dict[str, Any] = {
    "summary": "Ground-truth labels for earlier predictions",
    "requestBody": {
        "required": True,
        "content": json_content(
            {"oneOf": [_FEEDBACK_ITEM, {"type": "array", "items": _FEEDBACK_ITEM}]}
        ),
    },
    "responses": {
        "200": _OK,
        "202": {
            "description": "some ids were not known in memory: they are matched with the "
            "prediction log in the background; see the Location (GET /v1/feedback/{ticket})",
            "content": json_content(_TICKET),
        },
        **error_responses(400, 401, 403, 404, 413, 422, 503),
    },
}
TICKET: dict[str, Any] = {
    "summary": "What became of the labels a 202 left pending",
    "responses": {
        "200": {"description": "the ticket", "content": json_content(_TICKET)},
        **error_responses(401, 403, 404),
    },
}

"""The OpenAPI operations of the gateway's routes (OpenAI's chat-completions shape)."""

from __future__ import annotations

from typing import Any

from modelward.http.openapi import error_responses, json_content
from modelward.llm.gateway.body import PASS_PARAMS, ROLES

__all__ = ["CHAT", "FEEDBACK", "MODELS"]

_MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"type": "string", "enum": list(ROLES)},
        "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
    },
}
_PARAMS = {name: {"type": "number"} for name in PASS_PARAMS if name != "stop"}
_BODY = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {
            "type": "string",
            "description": "route:<query type>, auto, or a registered endpoint (name or name:3)",
        },
        "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
        "stream": {"type": "boolean"},
        "max_completion_tokens": {"type": "integer"},
        "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        **_PARAMS,
    },
}

CHAT: dict[str, Any] = {
    "summary": "Chat completion (OpenAI-compatible), routed by query type, with fallback",
    "parameters": [
        {
            "name": "X-Query-Type",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "the route to use (else route:<type> in model, or the classifier)",
        },
        {
            "name": "X-Modelward-Feedback",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "rate earlier answers: chatcmpl-abc=1, chatcmpl-def=0.8 (a rating "
            "1, 0 or -1, or a score 0.0 to 1.0); a malformed value is a 400",
        },
    ],
    "requestBody": {"required": True, "content": json_content(_BODY)},
    "responses": {
        "200": {
            "description": "the completion, or server-sent chunks when stream is true",
            "content": {
                **json_content({"type": "object"}),
                "text/event-stream": {"schema": {"type": "string"}},
            },
        },
        **error_responses(400, 401, 403, 404, 413, 429, 502, 504),
    },
}
MODELS: dict[str, Any] = {
    "summary": "The routes (route:<type>) and the endpoints they use",
    "responses": {
        "200": {"description": "ok", "content": json_content({"type": "object"})},
        **error_responses(401, 403),
    },
}
_RATING = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "description": "the answer's response id (chatcmpl-…)"},
        "rating": {"type": "integer", "enum": [1, 0, -1], "description": "good, neutral, bad"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "correct": {"type": "boolean", "description": "a person's word that it was right"},
        "comment": {"type": "string", "maxLength": 2000},
    },
}
FEEDBACK: dict[str, Any] = {
    "summary": "Rate gateway answers by their response ids (user satisfaction)",
    "requestBody": {
        "required": True,
        "content": json_content(
            {
                "oneOf": [
                    _RATING,
                    {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": _RATING}},
                    },
                ]
            }
        ),
    },
    "responses": {
        "200": {
            "description": "stored: how many, and the ids no answer has (a list's)",
            "content": json_content({"type": "object"}),
        },
        **error_responses(400, 401, 403, 404, 422, 503),
    },
}

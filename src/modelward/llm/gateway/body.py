"""The chat-completion request body: checked field by field, a 400 naming the field."""

from __future__ import annotations

from typing import Any

import orjson

from modelward.errors import ConfigError, RequestError
from modelward.http.request import parse_json
from modelward.llm.endpoints import check_params
from modelward.llm.providers.openai import PARAMS as OPENAI_PARAMS

__all__ = ["PASS_PARAMS", "ROLES", "parse_body", "prompt_of"]

ROLES = ("system", "user", "assistant", "tool", "developer")
#: OpenAI's sampling parameters, passed on to whichever provider answers (one answer a call)
PASS_PARAMS = tuple(name for name in OPENAI_PARAMS if name != "n")


def parse_body(raw: bytes) -> tuple[str, list[dict[str, Any]], dict[str, Any], bool]:
    """(model, messages, params, stream) or a 400 naming the field (none for the body as a
    whole, as OpenAI's errors name no ``param`` then)."""
    body = parse_json(raw, field=None)
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object (a chat completion)")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RequestError(
            "model is required: a route (route:factual) or a registered model", field="model"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty list of {role, content}", field="messages")
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str | list)
        ):
            raise RequestError(
                f"messages[{index}] needs a role ({', '.join(ROLES)}) and content",
                field=f"messages[{index}]",
            )
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("stream must be true or false", field="stream")
    return model.strip(), messages, _params(body), stream


def _params(body: dict[str, Any]) -> dict[str, Any]:
    raw = {k: body[k] for k in PASS_PARAMS if body.get(k) is not None}
    if body.get("max_completion_tokens") is not None:
        raw["max_tokens"] = body["max_completion_tokens"]
    for name, value in raw.items():
        if isinstance(value, bool) or (name != "stop" and not isinstance(value, int | float)):
            raise RequestError(f"{name} must be a number", field=name)
    if isinstance(raw.get("stop"), list):
        raw["stop"] = raw["stop"][0] if raw["stop"] else None
        if raw["stop"] is None:
            raw.pop("stop")
    try:
        return check_params(raw)
    except ConfigError as exc:
        raise RequestError(exc.message, field=exc.field) from exc


def prompt_of(messages: list[dict[str, Any]]) -> str:
    """The last user message's text (what the classifier reads and the log hashes)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else orjson.dumps(content).decode()
    return ""

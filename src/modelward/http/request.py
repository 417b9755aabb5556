"""One HTTP request as the handlers see it: method, path, path parameters, headers,
query, cookies, and a body read within the app's size limit (JSON, form or raw).

Everything here is parsed on first use only: the prediction hot path reads two headers
and the JSON body, nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl

import orjson

from modelward.errors import InvalidJSON, PayloadTooLarge, RequestError

if TYPE_CHECKING:
    from modelward.http.tokens import TokenInfo

__all__ = ["MAX_BODY", "MAX_FORM_FIELDS", "Request", "parse_json"]

#: The largest request body an app reads (413 beyond it); an App may set its own.
MAX_BODY = 8 * 1024 * 1024
MAX_FORM_FIELDS = 200
_FORM = "application/x-www-form-urlencoded"


class Request:
    __slots__ = (
        "_body",
        "_cookies",
        "_headers",
        "max_body",
        "params",
        "receive",
        "scope",
        "token",
    )

    def __init__(
        self,
        scope: dict[str, Any],
        receive: Any,
        params: dict[str, str] | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.params = params or {}
        self.max_body = max_body
        #: the caller's API token when the route needs a scope and auth is on
        self.token: TokenInfo | None = None
        self._body: bytes | None = None
        self._headers: dict[str, str] | None = None
        self._cookies: dict[str, str] | None = None

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as the server received them (lower-case names), for hot paths."""
        headers: list[tuple[bytes, bytes]] = self.scope["headers"]
        return headers

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case name -> value (the first of a repeated header)."""
        if self._headers is None:
            found: dict[str, str] = {}
            for key, value in self.scope["headers"]:
                found.setdefault(key.decode("latin-1"), value.decode("latin-1"))
            self._headers = found
        return self._headers

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string's parameters, each with every value it was given."""
        raw = self.scope.get("query_string", b"").decode("latin-1")
        return parse_qs(raw, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)

    @property
    def cookies(self) -> dict[str, str]:
        """The ``Cookie`` header's pairs (malformed pairs are ignored)."""
        if self._cookies is None:
            found: dict[str, str] = {}
            for part in self.headers.get("cookie", "").split(";"):
                name, sep, value = part.strip().partition("=")
                if sep and name:
                    found.setdefault(name, value.strip('"'))
            self._cookies = found
        return self._cookies

    def bearer(self) -> str | None:
        """The token of the first ``Authorization: Bearer …`` header, if any."""
        for key, value in self.scope["headers"]:
            if key == b"authorization":
                kind, _, token = value.decode("latin-1").partition(" ")
                token = token.strip()
                return token if kind.lower() == "bearer" and token else None
        return None

    async def body(self) -> bytes:
        """The whole body; PayloadTooLarge beyond ``max_body``."""
        if self._body is not None:
            return self._body
        chunks = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLarge(
                    f"the body is over {self.max_body // (1024 * 1024)} MiB; send less "
                    "per request (fewer rows, a shorter prompt)",
                    field="body",
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self._body = b"".join(chunks)
        return self._body

    async def json(self, *, field: str | None = "body") -> Any:
        """The body as JSON; InvalidJSON (400, naming ``field``) when it is not."""
        return parse_json(await self.body(), field=field)

    async def form(self) -> dict[str, str]:
        """An HTML form's fields (``application/x-www-form-urlencoded``); a field sent
        twice, or a body of another type, is a 400 naming it."""
        kind = self.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind != _FORM:
            raise RequestError(
                f"send the form as {_FORM}, not {kind[:60] or 'no content type'}",
                field="content-type",
            )
        try:
            text = (await self.body()).decode("utf-8")
            pairs = parse_qsl(
                text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise RequestError(
                f"the form is not valid ({exc}); send UTF-8 with at most {MAX_FORM_FIELDS} fields",
                field="body",
            ) from exc
        fields: dict[str, str] = {}
        for name, value in pairs:
            if name in fields:
                raise RequestError(f"form field {name[:60]!r} is sent twice", field=name[:60])
            fields[name] = value
        return fields


def parse_json(body: bytes, *, field: str | None = "body") -> Any:
    """``body`` as JSON. A number beyond float64 (``1e400``) becomes infinity, which the
    input checks refuse naming its field, instead of a 400 for the whole body; ``NaN`` and
    ``Infinity`` are still not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "is infinity" not in str(exc):
            raise InvalidJSON(
                f"the body is not valid JSON ({exc.args[0] if exc.args else exc}); send a "
                "JSON object",
                field=field,
            ) from exc
    return _wide_numbers(body, field)


def _wide_numbers(body: bytes, field: str | None) -> Any:
    import json

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(body, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        raise InvalidJSON(
            f"the body is not valid JSON ({exc}); send a JSON object", field=field
        ) from exc

"""The provider seam: one small async class per wire protocol, all with this interface.

``chat(model, messages, params) -> ChatResult``, ``stream(...)`` yielding text pieces and,
last, a :class:`~modelward.llm.types.StreamEnd` when the provider says why it stopped, and
``list_models()``. The shared :meth:`Provider._send` does timeouts, retries with exponential
backoff on 429 and 5xx (honouring ``Retry-After``) and maps every failure to the typed
errors of :mod:`modelward.errors`. The API key is put in a header and nowhere else.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, cast

import httpx
import orjson

from modelward.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
)
from modelward.llm.providers.transport import Fetched, LeanTransport, ResponseTooLarge
from modelward.redact import redact

if TYPE_CHECKING:
    from modelward.llm.config import ProviderConfig
    from modelward.llm.types import ChatResult, Message, StreamEnd

__all__ = ["Provider", "retry_after_seconds", "token_count"]

#: A provider's answer: an ``httpx.Response`` (streamed, or from an injected client) or a
#: whole one fetched by our own transport.
Answer = httpx.Response | Fetched


def token_count(usage: Any, key: str) -> int | None:
    """``usage[key]`` as a token count, or None when the provider did not send one."""
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and value >= 0 else None


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Provider:
    """Base adapter. Subclasses set ``kind`` and implement the three calls."""

    kind = "base"

    def __init__(
        self,
        name: str,
        config: ProviderConfig,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self._client = client
        self._own_client = client is None

    # -- the interface ----------------------------------------------------------------------

    async def chat(self, model: str, messages: list[Message], params: dict[str, Any]) -> ChatResult:
        raise NotImplementedError

    def stream(
        self, model: str, messages: list[Message], params: dict[str, Any]
    ) -> AsyncIterator[str | StreamEnd]:
        raise NotImplementedError

    async def list_models(self) -> list[str]:
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        """Auth headers for this protocol (subclasses override)."""
        return {}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.timeout_s),
                transport=LeanTransport(
                    max_idle=max(8, self.config.concurrency * 2),
                    keepalive_expiry=self.config.keepalive_expiry_s,
                    max_response_bytes=round(self.config.max_response_mib * 1024 * 1024),
                ),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def _url(self, path: str) -> str:
        return self.config.base_url + path

    async def _dispatch(self, method: str, path: str, body: Any, stream: bool) -> Answer:
        """Our own client: straight to its transport (the client's cookie, auth and redirect
        machinery is not used by any provider and costs ~0.1 ms a call), a whole answer
        without an ``httpx.Request`` or ``httpx.Response`` at all; an injected client (a
        test's MockTransport) goes through ``client.send``."""
        if not self._own_client:
            return await self.client.send(self._request(method, path, body), stream=stream)
        # the one we built in .client
        transport = cast("LeanTransport", self.client._transport)  # noqa: SLF001
        if stream:
            request = self._request(method, path, body)
            response = await transport.handle_async_request(request)
            response.request = request
            return response
        url, headers, timeout = self._parts(path)
        if body is None:
            return await transport.fetch(method.encode(), url, headers, b"", timeout)
        content = orjson.dumps(body)
        headers = [*headers, (b"Content-Length", b"%d" % len(content))]
        return await transport.fetch(method.encode(), url, headers, content, timeout)

    def _parts(self, path: str) -> tuple[httpx.URL, list[tuple[bytes, bytes]], dict[str, Any]]:
        """(URL, headers with Host, timeouts) of ``path``, made once (the API key is read
        at the first call)."""
        cache = self.__dict__.setdefault("_built", {})
        if path not in cache:
            url = httpx.URL(self._url(path))
            headers = {
                "content-type": "application/json",
                "accept": "application/json",
                "user-agent": "modelward",
                **self.headers(),
            }
            raw = [(b"Host", url.netloc)] + [(k.encode(), v.encode()) for k, v in headers.items()]
            cache[path] = (url, raw, httpx.Timeout(self.config.timeout_s).as_dict(), headers)
        url, raw, timeout, _ = cache[path]
        return url, raw, timeout

    def _request(self, method: str, path: str, body: Any) -> httpx.Request:
        """A request built directly (``client.build_request`` costs ~0.25 ms a call)."""
        url, _, timeout = self._parts(path)
        headers = self.__dict__["_built"][path][3]
        content = orjson.dumps(body) if body is not None else None
        return httpx.Request(
            method, url, headers=headers, content=content, extensions={"timeout": timeout}
        )

    async def _send(
        self, method: str, path: str, *, json: Any = None, stream: bool = False
    ) -> tuple[Answer, int]:
        """One call with retries; returns the successful response and the attempt count.

        With ``stream=True`` the response (an ``httpx.Response``) body is not read; the
        caller must close it.
        """
        attempts = self.config.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._dispatch(method, path, json, stream)
            except ResponseTooLarge as exc:  # not tried again: it would be read again
                raise self.too_large() from exc
            except httpx.TimeoutException as exc:
                if attempt < attempts:
                    await asyncio.sleep(self._backoff(attempt, None))
                    continue
                raise ProviderTimeout(
                    f"provider {self.name!r} did not answer within {self.config.timeout_s:g}s "
                    f"({attempts} attempts); raise timeout_s in llm.yml or check the server"
                ) from exc
            except httpx.HTTPError as exc:
                if attempt < attempts:
                    await asyncio.sleep(self._backoff(attempt, None))
                    continue
                if isinstance(exc, httpx.ProxyError):  # its message names the proxy, no secret
                    raise ProviderError(
                        f"provider {self.name!r} at {self.config.base_url} is unreachable "
                        f"through {exc}; check the proxy, or list the host in NO_PROXY"
                    ) from exc
                raise ProviderError(
                    f"provider {self.name!r} at {self.config.base_url} is unreachable "
                    f"({type(exc).__name__}); check base_url in llm.yml and that it is running"
                ) from exc
            status = response.status_code
            if status < 400:
                return response, attempt
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            detail = await _detail(response)
            if (status == 429 or status >= 500) and attempt < attempts:
                await asyncio.sleep(self._backoff(attempt, retry_after))
                continue
            if status in (401, 403):
                env = self.config.api_key_env or "api_key_env"
                raise ProviderAuthError(
                    f"provider {self.name!r} refused the API key (HTTP {status}); set {env} "
                    "to a valid key"
                )
            if status == 429:
                raise ProviderRateLimited(
                    f"provider {self.name!r} is still rate limiting after {attempts} attempts"
                    f"{f' (Retry-After {retry_after:g}s)' if retry_after is not None else ''}; "
                    "lower --concurrency or raise max_retries"
                )
            raise ProviderError(
                f"provider {self.name!r} answered HTTP {status}: {detail}"
                + ("" if status >= 500 else "; check the model id and parameters")
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.config.max_backoff_s)
        base = self.config.backoff_s * (2 ** (attempt - 1))
        return min(base * (0.5 + random.random() / 2), self.config.max_backoff_s)

    async def _lines(self, path: str, *, json: Any) -> AsyncIterator[str]:
        """The body of a streamed answer, line by line (SSE or NDJSON)."""
        answer, _ = await self._send("POST", path, json=json, stream=True)
        response = cast("httpx.Response", answer)  # streamed: always one
        try:
            async for line in response.aiter_lines():
                if line:
                    yield line
        except ResponseTooLarge as exc:
            raise self.too_large() from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"provider {self.name!r} broke off the stream ({type(exc).__name__}); retry"
            ) from exc
        finally:
            await response.aclose()

    async def _json(self, method: str, path: str, *, json: Any = None) -> tuple[Any, int]:
        response, attempts = await self._send(method, path, json=json)
        try:
            return orjson.loads(response.content), attempts
        except ValueError as exc:
            raise self.bad_response("a body that is not JSON") from exc

    def too_large(self) -> ProviderBadResponse:
        return ProviderBadResponse(
            f"provider {self.name!r} sent an answer over {self.config.max_response_mib:g} MiB, "
            "the most read (max_response_mib in llm.yml); raise it if its answers are that "
            "long, or check base_url"
        )

    def bad_response(self, what: str) -> ProviderBadResponse:
        return ProviderBadResponse(
            f"provider {self.name!r} ({self.kind} protocol) sent {what}; check that base_url "
            "points at a server of that kind"
        )


async def _detail(response: Answer) -> str:
    try:
        body = await response.aread()
    except httpx.HTTPError:
        return "(no body)"
    finally:
        await response.aclose()
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    try:
        parsed = orjson.loads(body)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict) and error.get("message"):
            text = str(error["message"])
        elif isinstance(error, str):
            text = error
    except (ValueError, TypeError):
        pass
    return redact(text)[:200] or "(no body)"

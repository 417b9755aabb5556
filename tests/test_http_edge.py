"""The HTTP edge itself, over a real socket: what a new route group (the coming dashboard)
can mount on it without another reshape — HTML pages, cookies, form bodies, redirects,
path parameters, shipped static files, a streamed body that stops when the client leaves
— and the one 500 for a bug."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from modelward.http import (
    App,
    Group,
    Request,
    Response,
    Route,
    StreamingResponse,
    html_response,
    json_response,
    redirect,
)
from modelward.http.static import StaticFiles


class Pages(Group):
    """A small dashboard-like group."""

    def __init__(self) -> None:
        self.stream_closed = threading.Event()
        self.files = StaticFiles("modelward.http", "static", ["docs.js"])

    def routes(self):
        return (
            Route("GET", "/ui/login", self.login_page),
            Route("POST", "/ui/login", self.login),
            Route("GET", "/ui/whoami", self.whoami),
            Route("GET", "/ui/runs/{run}/steps/{step}", self.step),
            Route("GET", "/ui/static/{name}", self.static),
            Route("GET", "/ui/stream", self.stream),
            Route("POST", "/ui/boom", self.boom),
        )

    async def login_page(self, request: Request) -> Response:
        return html_response('<form method="post"><input name="user"></form>')

    async def login(self, request: Request) -> Response:
        form = await request.form()
        response = redirect("/ui/whoami")
        response.set_cookie("session", form["user"], max_age=600)
        return response

    async def whoami(self, request: Request) -> Response:
        return json_response({"user": request.cookies.get("session"), "q": request.query})

    async def step(self, request: Request) -> Response:
        return json_response(request.params)

    async def static(self, request: Request) -> Response:
        return self.files.response(request, request.params["name"])

    async def stream(self, request: Request) -> Response:
        closed = self.stream_closed

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b"data: first\n\n"
                await asyncio.Event().wait()  # a provider that never answers again
                yield b"data: never\n\n"
            finally:
                closed.set()

        return StreamingResponse(events())

    async def boom(self, request: Request) -> Response:
        raise RuntimeError("a bug with a secret sk-abcdefghijklmnop in it")


@pytest.fixture
def served() -> Iterator[tuple[str, Pages]]:
    import uvicorn

    pages = Pages()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(App([pages]), log_config=None, loop="asyncio"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", pages
    server.should_exit = True
    thread.join(timeout=10)


def test_an_html_form_login_sets_a_cookie_the_next_request_carries(served):
    url, _ = served
    with httpx.Client(base_url=url) as http:
        page = http.get("/ui/login")
        done = http.post("/ui/login", data={"user": "ada"})
        me = http.get("/ui/whoami?tab=runs&tab=logs")
    assert page.headers["content-type"] == "text/html; charset=utf-8" and "<form" in page.text
    assert done.status_code == 303 and done.headers["location"] == "/ui/whoami"
    cookie = done.headers["set-cookie"]
    assert (
        cookie.startswith("session=ada;") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    )
    assert me.json() == {"user": "ada", "q": {"tab": ["runs", "logs"]}}


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b"user=ada&user=bob", "application/x-www-form-urlencoded", "user"),
        (b'{"user": "ada"}', "application/json", "content-type"),
        (b"user=%ff", "application/x-www-form-urlencoded", "body"),
    ],
)
def test_a_bad_form_is_a_400_naming_the_problem(served, body, content_type, field):
    url, _ = served
    reply = httpx.post(f"{url}/ui/login", content=body, headers={"content-type": content_type})
    assert reply.status_code == 400
    assert reply.json()["error"]["field"] == field


def test_path_parameters_and_static_files_by_exact_name(served):
    url, _ = served
    with httpx.Client(base_url=url) as http:
        step = http.get("/ui/runs/r1/steps/7")
        js = http.get("/ui/static/docs.js")
        again = http.get("/ui/static/docs.js", headers={"if-none-match": js.headers["etag"]})
        head = http.head("/ui/static/docs.js")
        outside = [http.get(f"/ui/static/{name}") for name in ("NOTICE", "..%2Fapp.py", "x.js")]
    assert step.json() == {"run": "r1", "step": "7"}
    assert js.status_code == 200 and "SwaggerUIBundle" in js.text
    assert js.headers["content-type"].startswith("text/javascript")
    assert again.status_code == 304 and again.content == b""
    assert head.status_code == 200 and head.content == b""
    assert [r.status_code for r in outside] == [404, 404, 404]


def test_a_stream_stops_its_source_when_the_client_leaves(served):
    url, pages = served
    with httpx.Client(base_url=url) as http:
        with http.stream("GET", "/ui/stream") as reply:
            assert reply.headers["content-type"] == "text/event-stream"
            assert next(reply.iter_bytes()) == b"data: first\n\n"
    assert pages.stream_closed.wait(timeout=30), "the source kept running after the client left"


def test_a_bug_is_one_json_500_and_its_traceback_only_in_the_log(served, caplog):
    url, _ = served
    reply = httpx.post(f"{url}/ui/boom")
    assert reply.status_code == 500
    assert reply.json() == {
        "error": {"code": "internal", "type": "internal", "message": "internal error; see the log"}
    }
    assert any(r.exc_info and "a bug with" in str(r.exc_info[1]) for r in caplog.records)

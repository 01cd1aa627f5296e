"""The OpenLineage HTTP transport against a real local HTTP server that misbehaves (fifth red-team pass).

The client library's own transport read and gzip-decoded whole answers, honoured Retry-After for hours and
followed redirects anywhere; BoundedHttpTransport reads only the status and gives up in seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from services.openlineage.client import BoundedHttpTransport, LineageDeliveryError

Answer = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[str], list[Answer]]]:
    """A local server: ``answers[0]`` answers every request; each request's path and headers are recorded."""
    seen: list[str] = []
    answers: list[Answer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(f"{self.path} {self.headers.get('Authorization')} {self.headers.get('Accept-Encoding')}")
            answers[0](self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen, answers
    finally:
        server.shutdown()
        server.server_close()


def _event() -> RunEvent:
    return RunEvent(
        eventType=RunState.START,
        eventTime="2026-12-06T00:00:00Z",
        run=Run(runId="01935a3e-0000-7000-8000-000000000000"),
        job=Job(namespace="purpose-lineage", name="collect"),
        producer="https://example.invalid/purpose-lineage",
    )


def _status(code: int, headers: dict[str, str] | None = None) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def test_an_accepted_event_is_posted_with_the_api_key(endpoint) -> None:
    url, seen, answers = endpoint
    answers.append(_status(201))

    BoundedHttpTransport(url, "k-123").emit(_event())

    assert seen == ["/api/v1/lineage Bearer k-123 identity"]


def test_a_huge_answer_is_never_read(endpoint) -> None:
    url, _, answers = endpoint
    announced = 1 << 30
    sent: list[int] = []
    closed = threading.Event()

    def endless(handler: BaseHTTPRequestHandler) -> None:  # 1 GiB of "gzip", for as long as anyone reads
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(announced))
        handler.end_headers()
        chunk = b"\x1f\x8b" + bytes(65_534)
        try:
            while sum(sent) < announced:
                handler.wfile.write(chunk)
                sent.append(len(chunk))
        except OSError:
            closed.set()  # the client closed: what it should do

    answers.append(endless)

    BoundedHttpTransport(url, None).emit(_event())

    assert closed.wait(30)  # before: the whole body was read and inflated (or failed to inflate)
    assert sum(sent) < 64 << 20  # what socket buffers took, not the answer


def test_retry_after_is_not_honoured_and_the_failure_is_raised(endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen, answers = endpoint
    answers.append(_status(503, {"Retry-After": "3600"}))
    pauses: list[float] = []
    monkeypatch.setattr("services.openlineage.client.time.sleep", pauses.append)

    with pytest.raises(LineageDeliveryError, match="HTTP 503"):
        BoundedHttpTransport(url, None).emit(_event())

    assert len(seen) == 3
    assert pauses == [0.5, 1.0]  # its own backoff; before: urllib3 slept the answer's 3,600 s an attempt


def test_a_redirect_is_a_failure_and_is_not_followed(endpoint) -> None:
    url, seen, answers = endpoint
    answers.append(_status(307, {"Location": f"{url}/elsewhere"}))

    with pytest.raises(LineageDeliveryError, match="HTTP 307"):
        BoundedHttpTransport(url, "k-123").emit(_event())

    assert seen == ["/api/v1/lineage Bearer k-123 identity"]  # once, and never to the Location


def test_proxies_from_the_environment_are_not_used(endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen, answers = endpoint
    answers.append(_status(200))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "")

    BoundedHttpTransport(url, None).emit(_event())

    assert len(seen) == 1


def test_an_unreachable_endpoint_fails_with_the_kind_of_failure_only() -> None:
    with pytest.raises(LineageDeliveryError) as raised:
        BoundedHttpTransport("http://user:secret@127.0.0.1:9", None).emit(_event())

    assert str(raised.value) == "OpenLineage endpoint unreachable (ConnectionError)"

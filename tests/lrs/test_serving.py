"""`lrs.serving.OneSendResponse`: the same bytes on the wire as gunicorn's own response, in
fewer calls (one for a response whose body is one small chunk). RFC 9112 6 (message
framing) is gunicorn's; these tests hold that nothing of it changes."""

from __future__ import annotations

from typing import Any

import gunicorn.http.wsgi
import gunicorn.util
import pytest

from lrs.serving import ONE_SEND_BYTES, OneSendResponse


class _Request:
    def __init__(self, method: str, version: tuple[int, int]) -> None:
        self.method = method
        self.version = version

    def should_close(self) -> bool:
        return False


class _Config:
    protocol = "http"
    sendfile = None


class _Socket:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sent.append(bytes(data))


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gunicorn.util, "http_date", lambda *args: "Tue, 01 Dec 2026 00:00:00 GMT")


def _send(
    response_class: Any, status: str, headers: list[tuple[str, str]], chunks: list[Any],
    method: str = "GET", version: tuple[int, int] = (1, 1),
) -> list[bytes]:
    """What `response_class` sends for a WSGI response, as gunicorn's worker drives it."""
    sock = _Socket()
    response = response_class(_Request(method, version), sock, _Config())
    response.start_response(status, headers)
    for chunk in chunks:
        response.write(chunk)
    response.close()
    return sock.sent


CASES = {
    "one small chunk": ("200 OK", [("Content-Length", "7")], [b'{"a":1}']),
    "chunked": ("200 OK", [("Content-Type", "text/plain")], [b"ab", b"cd", b"ef"]),
    "HEAD": ("200 OK", [("Content-Length", "3")], [b"xyz"], "HEAD"),
    "204": ("204 No Content", [("Content-Length", "0")], [b""]),
    "304 with bytes": ("304 Not Modified", [], [b"dropped"]),
    "no body chunks": ("200 OK", [("Content-Length", "0")], []),
    "truncated to Content-Length": ("200 OK", [("Content-Length", "3")], [b"abcdef", b"gh"]),
    "HTTP/1.0": ("200 OK", [], [b"abc", b"def"], "GET", (1, 0)),
    "large first chunk": (
        "200 OK", [("Content-Length", str(ONE_SEND_BYTES + 1))], [b"x" * (ONE_SEND_BYTES + 1)]
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_same_bytes_as_gunicorn(case: tuple[Any, ...]) -> None:
    ours = _send(OneSendResponse, *case)
    theirs = _send(gunicorn.http.wsgi.Response, *case)
    assert b"".join(ours) == b"".join(theirs)
    assert 1 <= len(ours) <= len(theirs)


def test_one_call_for_a_small_body() -> None:
    sent = _send(OneSendResponse, "200 OK", [("Content-Length", "7")], [b'{"a":1}'])
    assert len(sent) == 1
    assert sent[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert sent[0].endswith(b'\r\n\r\n{"a":1}')
    assert len(_send(gunicorn.http.wsgi.Response, "200 OK", [("Content-Length", "7")],
                     [b'{"a":1}'])) == 2


def test_chunked_head_goes_with_the_first_chunk() -> None:
    sent = _send(OneSendResponse, "200 OK", [], [b"ab", b"cd"])
    assert sent[0].endswith(b"\r\n\r\n2\r\nab\r\n")
    assert sent[1:] == [b"2\r\ncd\r\n", b"0\r\n\r\n"]


def test_large_first_chunk_is_not_copied_behind_the_head() -> None:
    body = b"x" * (ONE_SEND_BYTES + 1)
    sent = _send(OneSendResponse, "200 OK", [("Content-Length", str(len(body)))], [body])
    assert len(sent) == 2 and sent[1] == body


def test_a_failing_write_sends_what_gunicorn_sends() -> None:
    """A chunk that is not bytes: gunicorn has sent the head when it raises; so do we."""
    sent: dict[str, list[bytes]] = {}
    for name, response_class in (("ours", OneSendResponse),
                                 ("theirs", gunicorn.http.wsgi.Response)):
        sock = _Socket()
        response = response_class(_Request("GET", (1, 1)), sock, _Config())
        response.start_response("200 OK", [("Content-Length", "3")])
        with pytest.raises(TypeError):
            response.write("abc")
        sent[name] = sock.sent
    assert sent["ours"] == sent["theirs"] != []


def test_the_worker_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`LrsWorker.init_process` puts it where gunicorn builds each response (gunicorn's own
    `init_process`, which then runs the worker, is left out)."""
    from types import SimpleNamespace

    from gunicorn.workers.ggevent import GeventWorker

    from lrs.config import Config
    from lrs.serving import LrsWorker

    monkeypatch.setattr(gunicorn.http.wsgi, "Response", gunicorn.http.wsgi.Response)
    monkeypatch.setattr(GeventWorker, "init_process", lambda self: None)
    worker = LrsWorker.__new__(LrsWorker)
    worker.app = SimpleNamespace(lrs_config=Config())
    worker.init_process()
    assert gunicorn.http.wsgi.Response is OneSendResponse

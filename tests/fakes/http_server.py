"""A small threaded HTTP server on 127.0.0.1 with an ephemeral port, the base of the API fakes.

The fakes run in their own thread so that the bot under test talks to them over real HTTP, exactly as it
would talk to the real services, whatever its event loop is doing.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    """One HTTP request as the fake sees it: method, path, and the merged query/form/JSON parameters."""

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    raw_body: bytes = b""


@dataclass
class Response:
    """What a fake answers: a status, a body (JSON-encoded unless bytes) and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


def parse_params(method: str, target: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Merge query string, urlencoded form and JSON body into one dict, as the Bot API accepts all three."""
    params: dict[str, Any] = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if body and ctype == "application/json":
        loaded = json.loads(body)
        if isinstance(loaded, dict):
            params.update(loaded)
    elif body and ctype == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif body and ctype == "multipart/form-data":
        params.update(_parse_multipart(headers["content-type"], body))
    return params


def _parse_multipart(content_type: str, body: bytes) -> dict[str, str]:
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    out: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            out[name] = payload.decode("utf-8") if isinstance(payload, bytes) else str(payload)
    return out


class FakeHTTPServer:
    """Serves `handler` on 127.0.0.1:<ephemeral port> in a daemon thread until `stop()`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        outer = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; without this, Nagle + delayed ACK add ~40 ms a call.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    params = parse_params(self.command, self.path, headers, body)
                except (ValueError, UnicodeDecodeError):
                    params = {}
                request = Request(self.command, urlsplit(self.path).path, params, headers, body)
                response = outer._handler(request)
                payload = response.encoded()
                self.send_response(response.status)
                self.send_header("Content-Type", response.headers.pop("Content-Type", "application/json"))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

"""A scripted OpenAI-compatible chat server on a free loopback port, for driving the real ChatOpenAI client in tests.

It speaks just enough of /v1/chat/completions (JSON and server-sent events) for `langchain_openai.ChatOpenAI`,
and of Ollama's /api/chat (newline-delimited JSON) for `langchain_ollama.ChatOllama`. It records every request body
it receives and answers from a script: each request takes the next `Reply` (the last one repeats). A reply's
content may be a function of the request, so a test can quote the passages it was sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


@dataclass
class Reply:
    content: str | Callable[[dict], str] = ""
    status: int = 200
    delay: float = 0.0
    raw: str | None = None  # send this body verbatim instead of a well-formed completion
    usage: bool = True  # report token usage as OpenAI does


def passages_in(request: dict) -> dict[int, str]:
    """The passages the tutor sent, by number, parsed from the last user message."""
    text = request["messages"][-1]["content"]
    return {int(n): body for n, body in PASSAGE.findall(text)}


def words(text: str) -> int:
    return len(text.split())


class StubEndpoint:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.raw_bodies: list[str] = []
        self.script: list[Reply] = [Reply("")]
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL (Ollama clients use `root`)."""
        return f"{self.root}/v1"

    def play(self, *replies: Reply | str) -> "StubEndpoint":
        self.script = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        return self

    def start(self) -> "StubEndpoint":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    def _next(self, request: dict, raw: str) -> Reply:
        with self._lock:
            self.requests.append(request)
            self.raw_bodies.append(raw)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
                request = json.loads(raw)
                reply = endpoint._next(request, raw)
                if reply.delay and endpoint._closing.wait(reply.delay):
                    return
                try:
                    self._respond(request, reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _respond(self, request: dict, reply: Reply) -> None:
                if reply.raw is not None:
                    return self._send(reply.status, reply.raw.encode())
                if reply.status != 200:
                    error = {"error": {"message": f"scripted failure {reply.status}", "type": "server_error"}}
                    return self._send(reply.status, json.dumps(error).encode())
                content = reply.content(request) if callable(reply.content) else reply.content
                prompt = sum(words(m["content"]) for m in request["messages"])
                if self.path.endswith("/api/chat"):
                    return self._ollama(request, content, prompt)
                usage = {"prompt_tokens": prompt, "completion_tokens": words(content),
                         "total_tokens": prompt + words(content)}
                model = request.get("model", "stub")
                if not request.get("stream"):
                    body = {"id": "cmpl-stub", "object": "chat.completion", "created": 0, "model": model,
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": content}}]}
                    if reply.usage:
                        body["usage"] = usage
                    return self._send(200, json.dumps(body).encode())
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = re.findall(r"\S+\s*", content) or [""]
                for number, start in enumerate(range(0, len(pieces), 3)):
                    delta = {"content": "".join(pieces[start:start + 3])}
                    if number == 0:
                        delta["role"] = "assistant"
                    self._event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}, model)
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, model)
                if reply.usage and (request.get("stream_options") or {}).get("include_usage"):
                    self._event({"choices": [], "usage": usage}, model)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _ollama(self, request: dict, content: str, prompt: int) -> None:
                """Ollama's /api/chat: newline-delimited JSON, the last line carrying the token counts."""
                model = request.get("model", "stub")
                lines = [{"model": model, "created_at": "2026-01-01T00:00:00Z", "done": False,
                          "message": {"role": "assistant", "content": piece}}
                         for piece in (re.findall(r"\S+\s*", content) if request.get("stream", True) else [content])]
                lines.append({"model": model, "created_at": "2026-01-01T00:00:00Z", "done": True,
                              "done_reason": "stop", "message": {"role": "assistant", "content": ""},
                              "prompt_eval_count": prompt, "eval_count": words(content)})
                self._send(200, "".join(json.dumps(line) + "\n" for line in lines).encode(), "application/x-ndjson")

            def _event(self, payload: dict, model: str) -> None:
                payload = {"id": "cmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model,
                           **payload}
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

        return Handler


def closed_port_url() -> str:
    """A loopback URL nobody listens on: a dead endpoint."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"

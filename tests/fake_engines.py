"""Small local HTTP servers on 127.0.0.1 that imitate what an engine does which no engine here shows:
a chat model's preamble, 429s with Retry-After, a list-refusing completions endpoint, and so on.

Each test gives ``serving`` a handler named for what it imitates; the server runs in a thread
for the ``with`` block only and records every request (path, headers, JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, Mapping

# A handler gets the request and answers (status, JSON body or raw bytes, extra headers).
Answer = tuple[int, Any, Mapping[str, str]]
Handler = Callable[["Request"], Answer]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


@dataclass
class Engine:
    """The running imitation: its base URL, the requests it got, and how many were in flight at most."""

    root: str
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self, path_end: str = "") -> list[Request]:
        """The POST requests whose path ends in ``path_end``."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(path_end)]


@contextmanager
def serving(handler: Handler) -> Iterator[Engine]:
    """Run ``handler`` on a free port of 127.0.0.1 for the ``with`` block."""
    engine: Engine | None = None

    class _Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            request = Request(method, self.path, dict(self.headers), body)
            assert engine is not None
            with engine.lock:
                engine.requests.append(request)
                engine.in_flight += 1
                engine.most_in_flight = max(engine.most_in_flight, engine.in_flight)
            try:
                status, payload, headers = handler(request)
            finally:
                with engine.lock:
                    engine.in_flight -= 1
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
            self.send_response(status)
            content_type = "application/json" if not isinstance(payload, bytes) else "text/html"
            for key, value in {"Content-Type": content_type, **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:  # the client gave up (a timeout test)
                pass

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    engine = Engine(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def ok(payload: Any, **headers: str) -> Answer:
    """A 200 answer."""
    return 200, payload, headers


def error(status: int, message: str | None = None, **headers: str) -> Answer:
    """An error answer in OpenAI's shape (``{"error": {"message"}}``), or an empty body."""
    return status, ({"error": {"message": message, "type": "error"}} if message else b""), headers


def model_list(*ids: str) -> Answer:
    """``GET /v1/models`` as every OpenAI-compatible server answers it."""
    return ok({"object": "list", "data": [{"id": model_id, "object": "model"} for model_id in ids]})


def chat_answer(content: str, logprobs: list[dict[str, Any]] | None = None, finish: str = "stop", **message: Any) -> Answer:
    """A chat completion with one choice; ``logprobs`` in the chat format when given."""
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content, **message},
                              "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return ok({"object": "chat.completion", "choices": [choice]})


def chat_logprobs(tokens: list[str], logprob: float = -0.1, with_bytes: bool = True) -> list[dict[str, Any]]:
    """Chat-format entries for ``tokens`` (each ``-0.1``), with their bytes as llama.cpp and OpenAI send them."""
    return [{"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8")) if with_bytes else None}
            for token in tokens]


def slow(seconds: float, answer: Answer) -> Answer:
    """``answer`` after ``seconds`` (an engine working on a request)."""
    time.sleep(seconds)
    return answer


__all__ = ["Engine", "Request", "chat_answer", "chat_logprobs", "error", "model_list", "ok", "serving", "slow"]

"""JSON over HTTP to an OpenAI-compatible engine: the base URL as users copy it, one request with a
timeout, retries on 429/503 within a run's budget, and errors that say what was wrong.

Stdlib only (``urllib``): the hook's environment stays small, and a request per function needs
nothing more. Code leaves the machine only to the URL the configuration names.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

# What users paste after the base URL: the endpoint their engine's docs show in a curl example.
_ENDPOINT_SUFFIXES = ("/chat/completions", "/completions", "/models")
# The answers that mean "busy, ask again later" (rate limits, a model still loading).
RETRY_STATUSES = (429, 503)
FIRST_BACKOFF = 0.5  # seconds; doubled after each retry that names no Retry-After
MAX_BACKOFF = 8.0
_NO_ROUTE = ("not found", "method not allowed", "404 page not found", "404: not found")
_HINT = "server-url should be the engine's base URL, e.g. http://127.0.0.1:11434 for Ollama"


class ServerError(Exception):
    """A request that did not give a usable answer; ``str(e)`` says what the server did."""

    def __init__(self, message: str, unreachable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.unreachable = unreachable  # nobody answered: asking again would only cost another timeout
        self.status = status


def base_url(url: str) -> str:
    """The OpenAI-compatible base (``.../v1``) of a URL as users copy it from their engine's docs.

    ``http://127.0.0.1:11434`` gets ``/v1``; an endpoint pasted whole
    (``.../v1/chat/completions``) loses the endpoint; any other path (a hosted API's
    ``/api/v1``, ``/v1beta/openai``) is kept as it is.
    """
    parsed = urllib.parse.urlsplit(url.strip())
    path = parsed.path.rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    if not path:
        path = "/v1"
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", ""))


def server_root(base: str) -> str:
    """Scheme and host of ``base``: where engines keep their own endpoints (``/props``, ``/tokenize``)."""
    parsed = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, "", "", ""))


class RetryBudget:
    """Seconds a whole run may spend waiting on busy answers; shared by the requests in flight."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds
        self._lock = threading.Lock()

    def take(self, seconds: float) -> bool:
        """Reserve ``seconds`` of waiting; False (and nothing reserved) when the budget has less."""
        with self._lock:
            if seconds > self.left:
                return False
            self.left -= seconds
            return True


@dataclass(frozen=True)
class Transport:
    """Where and how to send: the base URL, the headers (a key), the per-request timeout, the retry budget."""

    base: str
    headers: Mapping[str, str]
    timeout: float
    budget: RetryBudget

    def post(self, path: str, body: Mapping[str, Any], root: bool = False) -> Any:
        """POST ``body`` as JSON to ``path`` under the base (or the server's root) and return the JSON answer."""
        return self._send(path, json.dumps(body).encode("utf-8"), root)

    def get(self, path: str, root: bool = False) -> Any:
        """GET ``path`` under the base (or the server's root) and return the JSON answer."""
        return self._send(path, None, root)

    def _send(self, path: str, data: bytes | None, root: bool) -> Any:
        url = (server_root(self.base) if root else self.base) + path
        where = urllib.parse.urlsplit(url).path  # what the messages name: /v1/chat/completions
        backoff = FIRST_BACKOFF
        while True:
            request = urllib.request.Request(url, data=data, headers=dict(self.headers),
                                             method="POST" if data is not None else "GET")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return _json_answer(response.read(), response.headers.get("Content-Type", ""), where)
            except urllib.error.HTTPError as exc:
                status, body, headers = exc.code, _read(exc), exc.headers
            except OSError as exc:  # URLError, refused connections and timeouts are all OSErrors
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
                    raise ServerError(f"no answer within {self.timeout:g} s at {where}", unreachable=True) from None
                raise ServerError(f"cannot reach the server ({reason})", unreachable=True) from None
            if status not in RETRY_STATUSES:
                raise ServerError(http_error_message(status, body, where), status=status)
            asked = retry_after(headers.get("Retry-After") if headers else None)
            wait = asked if asked is not None else backoff
            if not self.budget.take(wait):
                raise ServerError(f"{http_error_message(status, body, where)}; still busy after the retry budget "
                                  f"(server-retry-budget, {wait:g} s more asked)", status=status)
            time.sleep(wait)
            backoff = min(backoff * 2, MAX_BACKOFF)


def _read(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read()
    except OSError:
        return b""


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_message(body: bytes) -> str | None:
    """The server's own words from an error body: OpenAI's ``{"error": {"message"}}``, or a bare ``error``/``detail``."""
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(answer, dict):
        return None
    error = answer.get("error", answer.get("detail"))
    if isinstance(error, dict):
        error = error.get("message")
    if isinstance(error, str) and error.strip():
        return " ".join(error.split())[:300]
    return None


def http_error_message(status: int, body: bytes, path: str) -> str:
    """One line for an HTTP error: the server's message when it sent one, else what the status suggests."""
    message = error_message(body)
    # A web framework's own "Not Found" means no such route: the URL is wrong, not the request.
    if status in (404, 405) and (not message or message.lower().strip(" .") in _NO_ROUTE):
        return f"answered {status} at {path}: {_HINT}"
    return f"HTTP {status} at {path}: {message}" if message else f"HTTP {status} at {path}"


def _json_answer(body: bytes, content_type: str, path: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        what = "HTML" if "html" in content_type or body.lstrip()[:1] == b"<" else "something other than JSON"
        raise ServerError(f"answered with {what} at {path}: {_HINT}") from None


def not_openai_compatible(path: str, missing: str) -> ServerError:
    """The error for a JSON answer without the field an OpenAI-compatible server sends."""
    return ServerError(f"answered without {missing} at {path}: {_HINT}")


__all__ = [
    "RETRY_STATUSES",
    "RetryBudget",
    "ServerError",
    "Transport",
    "base_url",
    "error_message",
    "http_error_message",
    "not_openai_compatible",
    "retry_after",
    "server_root",
]

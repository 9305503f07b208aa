"""Requests to a served model: the base URL as users copy it, retries on busy answers, errors that say what was wrong.

Busy answers, HTML pages and refused connections are played by small local servers on
127.0.0.1 (``fake_engines``), each named for the engine behaviour it imitates.
"""

from __future__ import annotations

import email.utils
import socket
import time

import pytest
from fake_engines import Request, error, ok, serving

from docucode_hook.backends.transport import RetryBudget, ServerError, Transport, base_url, retry_after, server_root


@pytest.mark.parametrize(
    ("pasted", "base"),
    [
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434/v1"),  # Ollama's docs
        ("http://127.0.0.1:11434/", "http://127.0.0.1:11434/v1"),
        ("http://localhost:8080/v1", "http://localhost:8080/v1"),  # llama-server
        ("http://localhost:1234/v1/", "http://localhost:1234/v1"),  # LM Studio
        ("http://localhost:8000/v1/chat/completions", "http://localhost:8000/v1"),  # a curl example pasted whole
        ("http://localhost:8000/v1/completions", "http://localhost:8000/v1"),
        ("http://localhost:8000/v1/models", "http://localhost:8000/v1"),
        ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1"),  # hosted APIs keep their path
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "https://generativelanguage.googleapis.com/v1beta/openai"),
        ("  http://box:8000/v1/chat/completions/  ", "http://box:8000/v1"),
    ],
)
def test_base_url_accepts_what_users_copy(pasted: str, base: str) -> None:
    assert base_url(pasted) == base
    assert server_root(base_url(pasted)) == base.split("/", 3)[0] + "//" + base.split("/")[2]


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("2") == 2.0 and retry_after("0.5") == 0.5 and retry_after(None) is None
    assert retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after(later) <= 31


def transport(root: str, budget: float = 5.0, timeout: float = 10.0) -> Transport:
    return Transport(base_url(root), {"Content-Type": "application/json"}, timeout, RetryBudget(budget))


def test_a_rate_limited_request_waits_what_retry_after_asks_then_succeeds() -> None:
    answers = iter([error(429, "rate limited", **{"Retry-After": "0.4"}), ok({"choices": []})])

    def rate_limiting_gateway(request: Request):
        return next(answers)

    with serving(rate_limiting_gateway) as engine:
        started = time.perf_counter()
        assert transport(engine.root).post("/chat/completions", {"x": 1}) == {"choices": []}
        waited = time.perf_counter() - started
    assert len(engine.requests) == 2 and waited >= 0.4


def test_a_model_still_loading_is_retried_with_backoff_within_the_budget() -> None:
    def llama_server_loading(request: Request):
        # llama.cpp's server answers 503 while it loads the model, without Retry-After.
        return error(503, "Loading model")

    with serving(llama_server_loading) as engine:
        started = time.perf_counter()
        with pytest.raises(ServerError) as caught:
            transport(engine.root, budget=2.0).post("/chat/completions", {})
        elapsed = time.perf_counter() - started
    # Waits of 0.5 and 1 s fit the 2 s budget; the next (2 s) does not, so it stops at once.
    assert len(engine.requests) == 3 and 1.4 <= elapsed < 2.5
    assert str(caught.value) == ("HTTP 503 at /v1/chat/completions: Loading model; still busy after the retry budget "
                                 "(server-retry-budget, 2 s more asked)")


def test_a_retry_after_longer_than_the_budget_is_not_waited_for() -> None:
    def quota_exhausted_gateway(request: Request):
        return error(429, "You exceeded your current quota", **{"Retry-After": "3600"})

    with serving(quota_exhausted_gateway) as engine:
        started = time.perf_counter()
        with pytest.raises(ServerError, match="You exceeded your current quota; still busy"):
            transport(engine.root).post("/chat/completions", {})
    assert len(engine.requests) == 1 and time.perf_counter() - started < 1


def test_the_budget_is_shared_by_the_run() -> None:
    budget = RetryBudget(1.0)
    assert budget.take(0.6) and not budget.take(0.6) and budget.take(0.4) and not budget.take(0.01)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        # A web page at the URL (a wrong port, a proxy): 200 with HTML.
        (ok(b"<!doctype html><html><body>Welcome</body></html>"),
         "answered with HTML at /v1/chat/completions: server-url should be the engine's base URL"),
        # A server without that route: no body, or the framework's own words (FastAPI, in llama-cpp-python).
        (error(404), "answered 404 at /v1/chat/completions: server-url should be the engine's base URL"),
        ((404, {"detail": "Not Found"}, {}), "answered 404 at /v1/chat/completions: server-url should be the engine's base URL"),
        # The engine's own error message reaches the user (Ollama's answer to an unknown model).
        (error(404, 'model "default" not found, try pulling it first'),
         'HTTP 404 at /v1/chat/completions: model "default" not found, try pulling it first'),
        (error(400, "the request exceeds the available context size (4096 tokens)"),
         "HTTP 400 at /v1/chat/completions: the request exceeds the available context size (4096 tokens)"),
        (error(500), "HTTP 500 at /v1/chat/completions"),
    ],
    ids=["html", "no-route", "no-route-fastapi", "ollama-unknown-model", "context-exceeded", "bare-500"],
)
def test_errors_say_what_the_server_said_or_what_was_wrong(answer, message: str) -> None:
    with serving(lambda request: answer) as engine:
        with pytest.raises(ServerError) as caught:
            transport(engine.root).post("/chat/completions", {})
    assert str(caught.value).startswith(message)
    assert not caught.value.unreachable


def test_an_unreachable_server_is_said_so_at_once() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago has nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServerError, match="cannot reach the server") as caught:
        transport(f"http://127.0.0.1:{port}").get("/models")
    assert caught.value.unreachable


def test_a_hanging_server_costs_one_timeout() -> None:
    def hanging_engine(request: Request):
        time.sleep(1.0)
        return ok({})

    with serving(hanging_engine) as engine:
        with pytest.raises(ServerError, match=r"no answer within 0.2 s at /v1/models") as caught:
            transport(engine.root, timeout=0.2).get("/models")
    assert caught.value.unreachable

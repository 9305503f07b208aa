"""The server backend against a real HTTP server on 127.0.0.1 that serves the tiny model with transformers."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from docucode_hook.backends.model import STOP_STRINGS, cut_completion
from docucode_hook.backends.server import ServerBackend
from docucode_hook.config import Config
from docucode_hook.code.records import Style
from docucode_hook.backends.prompt import build_prompt

KEY_ENV = "DOCUCODE_TEST_SERVER_KEY"


class CompletionServer(ThreadingHTTPServer):
    """An OpenAI-style ``/v1/completions`` server; ``mode`` makes it misbehave on purpose."""

    daemon_threads = True

    def __init__(self, model_dir: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(("127.0.0.1", 0), CompletionHandler)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.answers: list[list[str]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def complete(self, prompt: str, max_tokens: int, stop: list[str]) -> dict[str, Any]:
        """A choice: the text, and the OpenAI ``logprobs`` field (each token's text and log-probability)."""
        import torch

        encoded = self.tokenizer(prompt, return_tensors="pt")
        with torch.inference_mode():
            output = self.model.generate(**encoded, max_new_tokens=max_tokens, do_sample=False,
                                         output_scores=True, return_dict_in_generate=True)
        new = output.sequences[0, encoded["input_ids"].shape[1] :]
        scores = self.model.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)[0]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        # As vLLM and llama.cpp do: the text ends before the first stop string.
        for marker in stop:
            text = text.split(marker, 1)[0]
        tokens = [self.tokenizer.decode([token]) for token in new.tolist()]
        return {"text": text, "logprobs": {"tokens": tokens, "token_logprobs": scores.tolist()}}


class CompletionHandler(BaseHTTPRequestHandler):
    server: CompletionServer

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        mode = self.server.mode
        if mode == "error":
            return self.send_error(500, "model crashed")
        if mode == "slow":
            time.sleep(1.0)  # past the client's timeout: it has hung up, so answer nothing
            return None
        answers = [self.server.complete(p, body["max_tokens"], body["stop"]) for p in body["prompt"]]
        self.server.answers.append(answers)
        choices = [{"index": i, **answer, "finish_reason": "stop"} for i, answer in enumerate(answers)]
        if mode == "no-logprobs":
            choices = [{key: value for key, value in choice.items() if key != "logprobs"} for choice in choices]
        if mode == "short":
            choices = choices[:-1]
        # Real servers do not promise choice order; the client must sort by index.
        payload = json.dumps({"object": "text_completion", "choices": choices[::-1]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path) -> Iterator[CompletionServer]:
    server = CompletionServer(tiny_model_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fresh_server(server: CompletionServer) -> CompletionServer:
    server.mode, server.requests, server.answers = "ok", [], []
    return server


def server_backend(url: str, **config: Any) -> ServerBackend:
    settings = {"server_model": "tiny", "max_new_tokens": 8, "batch_size": 3, **config}
    return ServerBackend(Config(backend="server", server_url=url, **settings))


def test_end_to_end_request_shape_and_texts(server, sample_contexts, monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    contexts = sample_contexts[:5]
    texts = server_backend(server.base_url, server_api_key_env=KEY_ENV).generate(contexts, Style.NUMPY)

    bodies = [request["body"] for request in server.requests]
    assert [request["path"] for request in server.requests] == ["/v1/completions"] * 2
    assert {request["auth"] for request in server.requests} == {"Bearer sk-test"}
    assert [len(body["prompt"]) for body in bodies] == [3, 2]
    assert [p for body in bodies for p in body["prompt"]] == [build_prompt(c, Style.NUMPY).text for c in contexts]
    for body in bodies:
        assert (body["model"], body["max_tokens"], body["temperature"], body["logprobs"]) == ("tiny", 8, 0, 1)
        assert body["stop"] == list(STOP_STRINGS)
    served = [answer for batch in server.answers for answer in batch]
    assert [g and g.text for g in texts] == [cut_completion(answer["text"]) for answer in served]
    assert any(texts)
    # Where the served tokens spell the text, each surviving token keeps the server's log-probability.
    spelled = [(g, answer) for g, answer in zip(texts, served)
               if g and "".join(answer["logprobs"]["tokens"]).startswith(answer["text"])]
    assert spelled and all(g.token_logprobs for g, _ in spelled)
    for generation, answer in spelled:
        assert all(0 <= offset < len(generation.text) for offset, _ in generation.token_logprobs)
        assert {lp for _, lp in generation.token_logprobs} <= set(answer["logprobs"]["token_logprobs"])


def test_a_server_without_log_probabilities_gives_text_only(server, sample_contexts) -> None:
    server.mode = "no-logprobs"
    generations = server_backend(server.base_url).generate(sample_contexts[:3], Style.GOOGLE)
    assert any(generations) and all(g.token_logprobs == () for g in generations if g)


def test_no_key_header_unless_configured(server, sample_contexts) -> None:
    server_backend(server.base_url).generate(sample_contexts[:1], Style.GOOGLE)
    assert server.requests[0]["auth"] is None


def test_missing_key_variable_sends_nothing(server, sample_contexts, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.warns(UserWarning, match=f"{KEY_ENV}.*not set"):
        texts = server_backend(server.base_url, server_api_key_env=KEY_ENV).generate(sample_contexts[:2], Style.GOOGLE)
    assert texts == [None, None] and server.requests == []


@pytest.mark.parametrize(
    ("mode", "timeout", "message"),
    [("error", 60.0, "HTTP 500"), ("slow", 0.2, "no answer within 0.2 s"), ("short", 60.0, "expected 2 choices")],
)
def test_server_failures_give_none_per_item(server, sample_contexts, mode, timeout, message) -> None:
    server.mode = mode
    backend = server_backend(server.base_url, server_timeout=timeout, batch_size=2)
    with pytest.warns(UserWarning, match=message):
        texts = backend.generate(sample_contexts[:2], Style.GOOGLE)
    assert texts == [None, None]


def test_unreachable_server_is_tried_once_per_call(sample_contexts) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago has nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.warns(UserWarning, match="cannot reach the server.*5 function") as caught:
        texts = server_backend(f"http://127.0.0.1:{port}/v1", batch_size=2).generate(sample_contexts[:5], Style.GOOGLE)
    assert texts == [None] * 5 and len(caught) == 1


def test_a_timeout_skips_the_remaining_batches(server, sample_contexts) -> None:
    server.mode = "slow"
    backend = server_backend(server.base_url, server_timeout=0.2, batch_size=2)
    with pytest.warns(UserWarning, match="no answer within 0.2 s"):
        texts = backend.generate(sample_contexts[:4], Style.GOOGLE)
    assert texts == [None] * 4 and len(server.requests) == 1

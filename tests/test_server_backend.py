"""The server backend through its public entry (``ServerBackend(config)``, ``generate``, ``cache_key``).

The completions API is driven against a real HTTP server on 127.0.0.1 that serves the tiny
model with transformers and refuses a list of prompts, as llama-cpp-python's server does
(``assert len(body.prompt) <= 1``). Behaviours no engine here shows (a chat model's preamble,
429s, a hosted API refusing engine fields, Ollama refusing the model "default") are played by
``fake_engines`` servers named for what they imitate. The real llama.cpp server is the
engine tests' (``tests/test_engine_*``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from fake_engines import Request, chat_answer, chat_logprobs, error, model_list, ok, serving, slow

from docucode_hook.backends import RepeatedWarning
from docucode_hook.backends.model import cut_completion
from docucode_hook.backends.prompt import build_prompt
from docucode_hook.backends.served import serves_shipped_model
from docucode_hook.backends.server import ServerBackend
from docucode_hook.code.records import Style
from docucode_hook.config import Config

KEY_ENV = "DOCUCODE_TEST_SERVER_KEY"


class ListRefusingCompletionServer(ThreadingHTTPServer):
    """``/v1/completions`` serving the tiny model, one prompt string per request (a list gets HTTP 500, as
    llama-cpp-python's server answers it); the OpenAI completions ``logprobs`` with ``text_offset``."""

    daemon_threads = True

    def __init__(self, model_dir: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(("127.0.0.1", 0), _CompletionHandler)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True).eval()
        self.requests: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def complete(self, prompt: str, max_tokens: int, stop: list[str]) -> dict[str, Any]:
        import torch

        encoded = self.tokenizer(prompt, return_tensors="pt")
        with torch.inference_mode(), self.lock:
            output = self.model.generate(**encoded, max_new_tokens=max_tokens, do_sample=False,
                                         output_scores=True, return_dict_in_generate=True)
        new = output.sequences[0, encoded["input_ids"].shape[1] :]
        scores = self.model.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)[0]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        for marker in stop:  # as the engines do: the text ends before the first stop string
            text = text.split(marker, 1)[0]
        ids = new.tolist()
        tokens = [self.tokenizer.decode([token]) for token in ids]
        offsets = [len(prompt) + len(self.tokenizer.decode(ids[:k])) for k in range(len(ids))]
        return {"text": text, "logprobs": {"tokens": tokens, "token_logprobs": scores.tolist(), "text_offset": offsets}}


class _CompletionHandler(BaseHTTPRequestHandler):
    server: ListRefusingCompletionServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "tiny", "object": "model"}]}) if self.path == "/v1/models" \
            else self._send(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if not isinstance(body.get("prompt"), str):
            return self._send(500, {"error": {"message": "", "type": "internal_server_error"}})
        answer = self.server.complete(body["prompt"], body["max_tokens"], body.get("stop", []))
        self.server.answers.append({"prompt": body["prompt"], **answer})
        self._send(200, {"object": "text_completion", "choices": [{"index": 0, **answer, "finish_reason": "stop"}]})


@pytest.fixture(scope="module")
def tiny_server(tiny_model_dir: Path) -> Iterator[ListRefusingCompletionServer]:
    server = ListRefusingCompletionServer(tiny_model_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def backend(root: str | None = None, **config: Any) -> ServerBackend:
    """The backend at ``root`` (or at ``server_url`` among ``config``)."""
    return ServerBackend(Config(backend="server", **({"server_url": root} if root else {}), **config))


def test_completions_send_one_prompt_string_per_function_with_explicit_greedy_sampling(
    tiny_server, sample_contexts, monkeypatch
) -> None:
    tiny_server.requests.clear(), tiny_server.answers.clear()
    monkeypatch.setenv(KEY_ENV, "sk-test")
    contexts = sample_contexts[:5]
    served = backend(tiny_server.root, server_api="completions", server_api_key_env=KEY_ENV, max_new_tokens=8,
                     server_seed=7, server_options={"top_k": 1})
    generations = served.generate(contexts, Style.NUMPY)

    assert [r["path"] for r in tiny_server.requests] == ["/v1/completions"] * 5
    assert {r["auth"] for r in tiny_server.requests} == {"Bearer sk-test"}
    bodies = sorted((r["body"] for r in tiny_server.requests), key=lambda body: body["prompt"])
    assert sorted(body["prompt"] for body in bodies) == sorted(build_prompt(c, Style.NUMPY).text for c in contexts)
    for body in bodies:
        assert body["model"] == "tiny"  # the one model listed at /v1/models, never "default"
        assert (body["max_tokens"], body["temperature"], body["seed"], body["logprobs"]) == (8, 0, 7, 1)
        assert (body["frequency_penalty"], body["presence_penalty"]) == (0, 0)
        assert (body["repeat_penalty"], body["repetition_penalty"], body["top_k"]) == (1.0, 1.0, 1)
        assert body["stop"] == ["\n### "]
    by_prompt = {answer["prompt"]: answer for answer in tiny_server.answers}
    served_texts = [by_prompt[build_prompt(c, Style.NUMPY).text]["text"] for c in contexts]
    assert [g and g.text for g in generations] == [cut_completion(text) for text in served_texts]
    assert any(generations)
    # Every kept text carries the server's scores, placed inside it.
    for generation, text in zip(generations, served_texts):
        if generation is not None and generation.text.strip():
            assert generation.token_logprobs
            assert all(0 <= offset < len(generation.text) for offset, _ in generation.token_logprobs)


def test_requests_in_flight_are_bounded_by_server_concurrency(sample_contexts) -> None:
    def busy_chat_engine(request: Request):
        if request.method == "GET":
            return model_list("coder")
        return slow(0.3, chat_answer("Do the thing."))

    with serving(busy_chat_engine) as engine:
        generations = backend(engine.root, server_concurrency=2).generate(sample_contexts * 2, Style.GOOGLE)
    assert len(engine.posts("/v1/chat/completions")) == len(sample_contexts) * 2
    assert engine.most_in_flight == 2 and all(g.text == "Do the thing." for g in generations)


def test_chat_answers_of_a_chatty_model_are_cleaned_and_keep_their_scores(sample_contexts) -> None:
    tokens = ["Here", " is", " the", " docstring", ":\n\n", "```", "python\n", '"""', "Add", " two", " numbers", ".",
              '\n"""\n', "```", "\n\nHope", " this", " helps", "!"]

    def chatty_instruct_model(request: Request):
        if request.method == "GET":
            return error(404)  # no /props, no LM Studio endpoint: the context is not known
        return chat_answer("".join(tokens), chat_logprobs(tokens))

    with serving(chatty_instruct_model) as engine:
        served = backend(engine.root, server_model="qwen2.5-coder:7b", server_max_tokens=300)
        [generation] = served.generate(sample_contexts[:1], Style.SPHINX)
    body = engine.posts("/v1/chat/completions")[0].body
    assert body["model"] == "qwen2.5-coder:7b" and body["max_tokens"] == 300
    assert (body["temperature"], body["logprobs"], body["top_logprobs"], body["seed"]) == (0, True, 1, 0)
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert "Sphinx" in body["messages"][0]["content"] and ":param values:" in body["messages"][2]["content"]
    assert "`add`" in body["messages"][3]["content"]
    assert generation.text == "Add two numbers."
    assert [offset for offset, _ in generation.token_logprobs] == [0, 3, 7, 15]


def test_reasoning_is_never_the_docstring(sample_contexts) -> None:
    answers = iter([
        chat_answer("Add two numbers.", reasoning_content="The user wants a docstring. Add is simple."),
        chat_answer("<think>\nFirst, the parameters", finish="length"),
    ])

    def reasoning_model(request: Request):
        return next(answers) if request.method == "POST" else error(404)

    with serving(reasoning_model) as engine:
        served = backend(engine.root, server_model="qwq", server_concurrency=1)
        with pytest.warns(RepeatedWarning, match=r"reached server-max-tokens \(400\) before any docstring text"):
            generations = served.generate(sample_contexts[:2], Style.GOOGLE)
    assert [g and g.text for g in generations] == ["Add two numbers.", None]


def test_the_model_comes_from_the_list_when_the_server_serves_one(sample_contexts) -> None:
    def ollama(request: Request):
        # Ollama lists its models, and refuses a model it does not have, "default" included.
        if request.method == "GET":
            return model_list("llama3.2:latest") if request.path == "/v1/models" else error(404)
        if request.body["model"] != "llama3.2:latest":
            return error(404, f'model "{request.body["model"]}" not found, try pulling it first')
        return chat_answer("Add two numbers.")

    with serving(ollama) as engine:
        served = backend(engine.root)
        assert "llama3.2:latest" in served.cache_key()
        assert served.generate(sample_contexts[:1], Style.GOOGLE)[0].text == "Add two numbers."
    assert {r.body["model"] for r in engine.posts()} == {"llama3.2:latest"}


def test_a_server_with_several_models_needs_server_model(sample_contexts) -> None:
    def lm_studio(request: Request):
        return model_list("qwen2.5-coder-7b-instruct", "llama-3.2-3b-instruct", "text-embedding-nomic")

    with serving(lm_studio) as engine:
        served = backend(engine.root)
        with pytest.warns(RepeatedWarning) as caught:
            assert served.generate(sample_contexts[:3], Style.GOOGLE) == [None] * 3
    assert [str(w.message) for w in caught] == [
        f"server {engine.root}/v1: server-model is not set and the server serves 3 models (qwen2.5-coder-7b-instruct, "
        "llama-3.2-3b-instruct, text-embedding-nomic): set server-model to one of them; this run asks it nothing "
        "more (3 function(s) here, and any after, use the template)"]
    assert not engine.posts()


def test_a_hosted_api_that_refuses_engine_fields_gets_requests_without_them(sample_contexts) -> None:
    def strict_hosted_api(request: Request):
        # OpenAI's API refuses arguments it does not know, naming them.
        if request.method == "GET":
            return error(404)
        for field in ("repeat_penalty", "repetition_penalty", "seed"):
            if field in request.body:
                return error(400, f"Unrecognized request argument supplied: {field}")
        return chat_answer("Add two numbers.")

    with serving(strict_hosted_api) as engine:
        served = backend(engine.root, server_model="gpt-4o-mini", server_concurrency=1)
        with pytest.warns(RepeatedWarning) as caught:
            generations = served.generate(sample_contexts[:3], Style.GOOGLE)
        assert [g.text for g in generations] == ["Add two numbers."] * 3
    # One refusal per field, then every request goes without them; only the standard field is news.
    assert len(engine.posts()) == 3 + 3
    assert [str(w.message) for w in caught] == [
        f"server {engine.root}/v1: HTTP 400 at /v1/chat/completions: Unrecognized request argument supplied: seed; "
        "requests go without 'seed' for the rest of the run"]
    # The key stays what it was: the same server refuses the same fields every run.
    assert '"seed": 0' in served.cache_key() and '"repeat_penalty": 1.0' in served.cache_key()


def test_prompts_are_fitted_to_the_served_context(sample_contexts) -> None:
    long_body = "\n".join(f"    total += {i} * value  # step {i}" for i in range(120))
    source = f"def accumulate(value: int) -> int:\n    total = 0\n{long_body}\n    return total\n"
    from docucode_hook.code.contexts import iter_contexts

    [long_ctx] = list(iter_contexts(source, "acc.py"))
    [huge_ctx] = list(iter_contexts(f"def f({', '.join(f'a{i}' for i in range(1000))}):\n    pass\n", "huge.py"))

    def llama_server(request: Request):
        # llama.cpp's server: /props states the served context, /tokenize counts (here: 4 bytes a token).
        if request.path == "/props":
            return ok({"default_generation_settings": {"n_ctx": 400}})
        if request.path == "/v1/models":
            return model_list("/models/qwen2.5-coder-1.5b-q8_0.gguf")
        if request.path == "/tokenize":
            return ok({"tokens": list(range(len(request.body["content"].encode()) // 4 + 1))})
        return ok({"choices": [{"index": 0, "text": "Sum the steps.", "finish_reason": "stop"}]})

    with serving(llama_server) as engine:
        served = backend(engine.root, server_api="completions", max_new_tokens=50)
        with pytest.warns(RepeatedWarning, match=r"1 function\(s\) too long for the served context of 400 tokens"):
            generations = served.generate([long_ctx, huge_ctx], Style.GOOGLE)
    [request] = engine.posts("/v1/completions")
    sent = request.body["prompt"]
    assert len(sent.encode()) // 4 + 1 <= 400 - 50 - 1 < len(build_prompt(long_ctx, Style.GOOGLE).text.encode()) // 4
    assert "def accumulate(value: int) -> int:" in sent and "...  # truncated" in sent
    assert [g and g.text for g in generations] == ["Sum the steps.", None]


def test_a_run_that_keeps_failing_stops_asking_and_says_so_once(sample_contexts) -> None:
    def crashing_engine(request: Request):
        return error(500, "CUDA error: out of memory") if request.method == "POST" else error(404)

    with serving(crashing_engine) as engine:
        served = backend(engine.root, server_model="m", server_concurrency=1, server_max_failures=3)
        with pytest.warns(RepeatedWarning) as caught:
            first = served.generate(sample_contexts, Style.GOOGLE)
            second = served.generate(sample_contexts, Style.GOOGLE)
    assert first == second == [None] * len(sample_contexts)
    assert len(engine.posts()) == 3
    assert [str(w.message) for w in caught] == [
        f"server {engine.root}/v1: HTTP 500 at /v1/chat/completions: CUDA error: out of memory; this run asks it "
        f"nothing more ({len(sample_contexts)} function(s) here, and any after, use the template)"]


def test_failures_short_of_the_limit_are_told_once_per_reason(sample_contexts) -> None:
    answers = iter([error(400, "prompt too long"), chat_answer("Push an item."), error(400, "prompt too long"),
                    chat_answer("Pop an item."), chat_answer("Count down.")])

    def picky_engine(request: Request):
        return next(answers) if request.method == "POST" else error(404)

    with serving(picky_engine) as engine:
        served = backend(engine.root, server_model="m", server_concurrency=1)
        with pytest.warns(RepeatedWarning) as caught:
            generations = served.generate(sample_contexts, Style.GOOGLE)
    assert [g and g.text for g in generations] == [None, "Push an item.", None, "Pop an item.", "Count down."]
    assert [str(w.message) for w in caught] == [
        f"server {engine.root}/v1: HTTP 400 at /v1/chat/completions: prompt too long (2 function(s) use the template)"]


def test_an_unreachable_server_is_asked_once(sample_contexts) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago has nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = backend(f"http://127.0.0.1:{port}", server_model="m")
    started = time.perf_counter()
    with pytest.warns(RepeatedWarning, match=r"cannot reach the server.*5 function\(s\) here") as caught:
        assert served.generate(sample_contexts[:5], Style.GOOGLE) == [None] * 5
    assert len(caught) == 1 and time.perf_counter() - started < 5


def test_a_missing_key_variable_sends_nothing(sample_contexts, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with serving(lambda request: chat_answer("x")) as engine:
        served = backend(engine.root, server_model="m", server_api_key_env=KEY_ENV)
        with pytest.warns(RepeatedWarning, match=f"{KEY_ENV} \\(server-api-key-env\\) is not set"):
            assert served.generate(sample_contexts[:2], Style.GOOGLE) == [None, None]
    assert engine.requests == []


def test_the_cache_key_holds_endpoint_api_model_and_every_setting() -> None:
    base = {"server_url": "http://127.0.0.1:8080", "server_model": "m"}
    keys = {
        "base": backend(**base).cache_key(),
        "same": backend(**{**base, "server_url": "http://127.0.0.1:8080/v1/chat/completions"}).cache_key(),
        "url": backend(**{**base, "server_url": "http://127.0.0.1:8081"}).cache_key(),
        "api": backend(**base, server_api="completions").cache_key(),
        "model": backend(**{**base, "server_model": "n"}).cache_key(),
        "seed": backend(**base, server_seed=1).cache_key(),
        "tokens": backend(**base, server_max_tokens=200).cache_key(),
        "context": backend(**base, server_context=4096).cache_key(),
        "options": backend(**base, server_options={"top_k": 1}).cache_key(),
        "timeout": backend(**base, server_timeout=5.0).cache_key(),
    }
    assert keys["same"] == keys["base"] == keys["timeout"]  # how long to wait does not change the text
    assert len({value for name, value in keys.items() if name not in ("same", "timeout")}) == 8


@pytest.mark.parametrize(
    ("model_id", "shipped"),
    [
        ("docucode-small", True),
        ("docucode-small:latest", True),  # ollama create docucode-small
        ("/srv/models/docucode-small-q8_0.gguf", True),  # llama-server names a model by its file
        ("docucode-small-f16.gguf", True),
        ("C:\\models\\docucode-small-f32.gguf", True),
        ("/home/me/docucode-small", True),  # vLLM names it by its directory
        ("docucode-small-ft", False),  # a team's fine-tune is another model
        ("qwen2.5-coder:7b", False),
        ("docucode-small-q4_k_m.gguf", False),  # a quantization nobody calibrated
    ],
)
def test_serves_shipped_model(model_id: str, shipped: bool) -> None:
    assert serves_shipped_model(model_id) is shipped


def test_the_backend_keeps_its_public_entry() -> None:
    served = backend(server_url="http://127.0.0.1:9", server_model="m")
    assert served.name == "server" and callable(served.generate) and callable(served.generate_prompts)
    assert served.url == "http://127.0.0.1:9/v1/chat/completions"


def test_a_completion_that_opens_with_the_quotes_keeps_its_text(sample_contexts) -> None:
    # A base model continuing DocuCode's prompt may open the docstring itself; the closing quotes still end it.
    tokens = ['"""', "Add", " two", " numbers", ".", '\n"""', "\n    return"]

    def base_model_completions(request: Request):
        if request.method == "GET":
            return error(404)
        return ok({"choices": [{"index": 0, "text": "".join(tokens), "finish_reason": "length",
                                "logprobs": {"tokens": tokens, "token_logprobs": [-0.5] * len(tokens)}}]})

    with serving(base_model_completions) as engine:
        [generation] = backend(engine.root, server_model="m", server_api="completions").generate(
            sample_contexts[:1], Style.GOOGLE)
    assert '"""' not in engine.posts()[0].body["stop"]
    assert generation.text == "Add two numbers."
    assert [offset for offset, _ in generation.token_logprobs] == [0, 3, 7, 15]

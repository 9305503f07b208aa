"""The server backend: a model served by an engine a team already runs (Ollama, llama.cpp, LM Studio,
vLLM, a hosted API), over the OpenAI-compatible chat or completions API.

One request per function, at most ``server-concurrency`` in flight; greedy sampling asked
for explicitly (engines default to sampling and to repetition penalties); prompts fitted to
the served context; retries on busy answers (``transport``). A run whose requests keep
failing stops asking, says why once, and the template writes the rest. Code goes only to the
configured URL, and only when this backend is configured.
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.parse
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping, Sequence

from docucode_hook.backends import Generation, RepeatedWarning
from docucode_hook.backends.chat import chat_messages, clean_answer, prompt_overhead
from docucode_hook.backends.logprobs import place_logprobs, read_logprobs
from docucode_hook.backends.model import STOP_STRINGS, to_generation
from docucode_hook.backends.prompt import PROMPT_VERSION, Prompt, build_prompt, fit_prompt
from docucode_hook.backends.served import TokenCounter, choose_model, listed_models, served_context
from docucode_hook.backends.transport import RetryBudget, ServerError, Transport, base_url, not_openai_compatible
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.config import Config

CHAT, COMPLETIONS = "chat", "completions"
ENDPOINTS = {CHAT: "/chat/completions", COMPLETIONS: "/completions"}
# The chat messages' format (instruction, example, layout): part of the cache key, as
# PROMPT_VERSION is for the raw prompt. Change it with what a chat model is sent.
CHAT_VERSION = "1"
# Fields some engines read to turn their repetition penalty off (llama.cpp, llama-cpp-python and LM
# Studio: repeat_penalty, default 1.1 in some builds; vLLM: repetition_penalty, from the model's
# generation config). Engines that do not know them ignore them; an API that refuses one gets
# requests without it for the rest of the run.
ENGINE_FIELDS = {"repeat_penalty": 1.0, "repetition_penalty": 1.0}
# What a chat template adds around each message (role markers, separators), counted generously.
_TEMPLATE_TOKENS_PER_MESSAGE = 8
# Where a completion ends. Not the closing quotes: a model that opens its answer with them would
# be stopped before a word (they are cut after, see ``_opening_quotes``).
COMPLETION_STOPS = tuple(stop for stop in STOP_STRINGS if stop.strip('"'))
_STYLE_IN_PROMPT = re.compile(r"Write an? (Google|NumPy|Sphinx)-style docstring")


def _opening_quotes(text: str) -> int:
    """Where the text starts after the docstring's opening quotes, when the model wrote them first."""
    stripped = text.lstrip()
    if stripped.startswith(('"""', "'''")):
        return len(text) - len(stripped) + 3
    return 0


class ServerBackend:
    """Raw docstring text from a served model; code goes nowhere unless this backend is configured."""

    name = "server"

    def __init__(self, config: Config) -> None:
        if not config.server_url:
            raise ValueError("backend 'server' needs server_url")
        self.config = config
        self.api = config.server_api
        self.base = base_url(config.server_url)
        self.url = self.base + ENDPOINTS[self.api]
        self.transport = Transport(self.base, self._headers(), config.server_timeout,
                                   RetryBudget(config.server_retry_budget))
        self._model = config.server_model
        self._listing: Mapping[str, Any] | None = None
        self._counter: TokenCounter | None = None
        self._context: int | None = config.server_context or None
        self._context_asked = bool(config.server_context)
        self._refused: dict[str, str] = {}  # request fields the server refused this run, and its words
        self._refusals_told: set[str] = set()
        self._lock = threading.Lock()
        self._failures_in_row = 0
        self.stopped: str | None = None  # why this run asks the server nothing more

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.config.server_api_key_env:
            # A missing key is reported when a request would be sent, not at construction.
            key = os.environ.get(self.config.server_api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
        return headers

    def _check_key(self) -> None:
        env = self.config.server_api_key_env
        if env and not os.environ.get(env):
            raise ServerError(f"environment variable {env} (server-api-key-env) is not set")

    def model_id(self) -> str:
        """The served model's id: ``server-model``, else the one model the server lists."""
        if self._model is None:
            self._check_key()
            models = listed_models(self.transport)
            self._model = choose_model(models)
            self._listing = models[0]
        return self._model

    def settings(self, sent: bool = True) -> dict[str, Any]:
        """Every request field but the model and the prompt: what the text depends on besides them.

        ``sent``: without the fields the server refused this run (the cache key keeps them: a
        server refuses the same fields every run, and the key must not change mid-run).
        """
        fields: dict[str, Any] = {"temperature": 0, "seed": self.config.server_seed,
                                  "frequency_penalty": 0, "presence_penalty": 0, **ENGINE_FIELDS}
        if self.api == CHAT:
            fields.update(max_tokens=self.config.server_max_tokens, logprobs=True, top_logprobs=1)
        else:
            fields.update(max_tokens=self.config.max_new_tokens, logprobs=1, stop=list(COMPLETION_STOPS))
        fields.update(self.config.server_options)
        return {key: value for key, value in fields.items() if not sent or key not in self._refused}

    def cache_key(self) -> str:
        """Endpoint, API, served model and every request setting: what the served text depends on."""
        try:
            model = self.model_id()
        except ServerError as exc:
            self._stop(str(exc))
            model = "?"  # nothing can be generated: a key that matches no stored text
        settings = json.dumps({**self.settings(sent=False), "context": self.config.server_context},
                              sort_keys=True, default=str)
        version = f"chat:{CHAT_VERSION}" if self.api == CHAT else f"prompt:{PROMPT_VERSION}"
        return f"server:{self.url}:{model}:{settings}:{version}"

    def generate(self, contexts: Sequence[FunctionContext], style: Style) -> list[Generation | None]:
        """One generation per context; a function the server fails gives None (the template writes it)."""
        return self.complete([build_prompt(ctx, style) for ctx in contexts], style=style)

    def generate_prompts(self, prompts: Sequence[Prompt], strict: bool = False) -> list[str | None]:
        """Cut completions for built prompts, as text (see ``complete``)."""
        return [g.text if g else None for g in self.complete(prompts, strict)]

    def complete(self, prompts: Sequence[Prompt], strict: bool = False, style: Style | None = None) -> list[Generation | None]:
        """One request per prompt (either task), ``server-concurrency`` in flight, answers in order.

        ``strict`` raises the first failure (evaluation must not hide one). Otherwise a failing
        function gets None, failures are reported once per reason, and a run that keeps failing
        (unreachable, or ``server-max-failures`` in a row) stops asking, reported once.
        """
        if not prompts:
            return []
        was_stopped = self.stopped
        try:
            fitted = self._fitted(prompts)
        except ServerError as exc:
            if strict:
                raise
            self._stop(str(exc))
            fitted = [None] * len(prompts)
        with ThreadPoolExecutor(min(self.config.server_concurrency, len(prompts))) as pool:
            outcomes = list(pool.map(lambda prompt: self._ask(prompt, style, strict), fitted))
        if strict and (error := next((e for _, e in outcomes if isinstance(e, ServerError)), None)):
            raise error
        self._report(outcomes, fitted, was_stopped)
        return [generation for generation, _ in outcomes]

    def _fitted(self, prompts: Sequence[Prompt]) -> list[Prompt | None]:
        """Each prompt shortened to fit the served context; None where even its signature cannot."""
        if self.stopped:
            return [None] * len(prompts)
        self._check_key()
        model = self.model_id()
        if not self._context_asked:
            self._context_asked = True
            if self._listing is None:  # server-model was given: the list may still state the context
                try:
                    self._listing = next((m for m in listed_models(self.transport) if m["id"] == model), None)
                except ServerError as exc:
                    if exc.unreachable:
                        raise
            self._context = served_context(self.transport, model, self._listing)
        if not self._context:
            return list(prompts)
        if self._counter is None:
            self._counter = TokenCounter(self.transport, model)
        fitted: list[Prompt | None] = []
        for prompt in prompts:
            limit = self._context - self._answer_tokens() - self._overhead_tokens(prompt)
            short = fit_prompt(prompt, self._counter, limit) if limit > 0 else prompt
            fitted.append(short if limit > 0 and self._counter(short.text) <= limit else None)
        return fitted

    def _answer_tokens(self) -> int:
        return self.config.server_max_tokens if self.api == CHAT else self.config.max_new_tokens

    def _overhead_tokens(self, prompt: Prompt) -> int:
        """Tokens a request holds besides the prompt's own text: the chat instruction and example."""
        if self.api != CHAT or self._counter is None:
            return 1  # the BOS token
        overhead = prompt_overhead(self._style(prompt, None))
        return self._counter(overhead) + 4 * _TEMPLATE_TOKENS_PER_MESSAGE

    def _style(self, prompt: Prompt, style: Style | None) -> Style:
        """The style a docstring prompt asks for (a training record's prompt names it)."""
        if style is not None:
            return style
        match = _STYLE_IN_PROMPT.search(prompt.prompt)
        return Style(match.group(1).lower()) if match else self.config.style or Style.GOOGLE  # auto: no file to ask

    def _ask(self, prompt: Prompt | None, style: Style | None, strict: bool) -> tuple[Generation | None, Any]:
        """The generation for one fitted prompt, and the failure (a ServerError, "stopped", "too long") if none."""
        if self.stopped and not strict:
            return None, "stopped"
        if prompt is None:
            return None, "too long"
        try:
            generation = self._request(prompt, style)
        except ServerError as exc:
            with self._lock:
                self._failures_in_row += 1
                if exc.unreachable or self._failures_in_row >= self.config.server_max_failures:
                    self.stopped = self.stopped or str(exc)
            return None, exc
        with self._lock:
            self._failures_in_row = 0
        return generation, None

    def _request(self, prompt: Prompt, style: Style | None) -> Generation | None:
        """Send one prompt, resending without each optional field the server refuses by name (each
        refusal leaves one field fewer to send, so this ends)."""
        while True:
            body = {"model": self.model_id(), **self.settings()}
            if self.api == CHAT:
                body["messages"] = chat_messages(prompt, self._style(prompt, style))
            else:
                body["prompt"] = prompt.text  # one string: Ollama and llama-cpp-python take no list
            try:
                answer = self.transport.post(ENDPOINTS[self.api], body)
            except ServerError as exc:
                refused = self._refused_field(exc, body)
                if refused is None:
                    raise
                with self._lock:
                    self._refused[refused] = str(exc)
                continue
            return self._generation(prompt, answer)

    def _refused_field(self, exc: ServerError, body: Mapping[str, Any]) -> str | None:
        """The optional field a 400/422 answer names as unknown or unsupported, if any."""
        if exc.status not in (400, 422):
            return None
        optional = [key for key in body if key not in ("model", "messages", "prompt", "max_tokens")
                    and key not in self.config.server_options]
        return next((key for key in optional if re.search(rf"\b{re.escape(key)}\b", str(exc))), None)

    def _generation(self, prompt: Prompt, answer: Any) -> Generation | None:
        """The kept text of an answer and the log-probabilities of its tokens that survive in it."""
        path = urllib.parse.urlsplit(self.url).path
        choices = answer.get("choices") if isinstance(answer, Mapping) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            raise not_openai_compatible(path, "choices")
        choice = choices[0]
        if self.api == COMPLETIONS:
            text = choice.get("text")
            if not isinstance(text, str):
                raise not_openai_compatible(path, "a choice's text")
            starts, logprobs = read_logprobs(choice, text)
            skip = _opening_quotes(text)
            return to_generation(prompt, text[skip:], [start - skip for start in starts], logprobs)
        message = choice.get("message")
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, str):
            raise not_openai_compatible(path, "a message's content")
        cut_short = choice.get("finish_reason") == "length"
        cleaned = clean_answer(prompt, content, cut_short)
        if cleaned is None:
            if cut_short:
                raise ServerError(f"the answer reached server-max-tokens ({self.config.server_max_tokens}) "
                                  "before any docstring text: raise it, or turn the model's thinking off")
            return None
        starts, logprobs = read_logprobs(choice, content)
        return Generation(cleaned.text, place_logprobs(cleaned.origins, len(content), starts, logprobs))

    def _stop(self, reason: str) -> None:
        with self._lock:
            self.stopped = self.stopped or reason

    def _report(self, outcomes: list[tuple[Generation | None, Any]], fitted: Sequence[Prompt | None],
                was_stopped: str | None) -> None:
        """One warning per reason; one when the run stops asking, none for the calls after."""
        reasons: dict[str, int] = {}
        for _, error in outcomes:
            if isinstance(error, ServerError):
                reasons[str(error)] = reasons.get(str(error), 0) + 1
        too_long = sum(error == "too long" for _, error in outcomes)
        if too_long:
            warnings.warn(f"{too_long} function(s) too long for the served context of {self._context} tokens: "
                          "the template writes them", RepeatedWarning, stacklevel=3)
        if self.stopped and not was_stopped:
            failed = sum(generation is None and error != "too long" for generation, error in outcomes)
            warnings.warn(f"server {self.base}: {self.stopped}; this run asks it nothing more "
                          f"({failed} function(s) here, and any after, use the template)", RepeatedWarning, stacklevel=3)
            reasons.pop(self.stopped, None)
        for reason, count in reasons.items():
            warnings.warn(f"server {self.base}: {reason} ({count} function(s) use the template)",
                          RepeatedWarning, stacklevel=3)
        for field, reason in list(self._refused.items()):
            # The penalty fields are known to be engine-specific: refusing them is no news.
            if field not in ENGINE_FIELDS and field not in self._refusals_told:
                self._refusals_told.add(field)
                warnings.warn(f"server {self.base}: {reason}; requests go without {field!r} for the rest of the run",
                              RepeatedWarning, stacklevel=3)


__all__ = ["CHAT", "COMPLETIONS", "ENGINE_FIELDS", "ServerBackend", "ServerError"]

"""The server backend: an OpenAI-compatible ``/completions`` endpoint (vLLM, Ollama, llama.cpp), stdlib only."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import warnings
from typing import Any, Sequence

from docucode_hook.backends import Generation
from docucode_hook.backends.model import STOP_STRINGS, to_generation
from docucode_hook.config import Config
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.backends.prompt import PROMPT_VERSION, Prompt, build_prompt


class ServerError(Exception):
    """The server could not be reached or answered something other than completions."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class ServerBackend:
    """Raw docstring text from a shared server; code goes nowhere unless this backend is configured."""

    name = "server"

    def __init__(self, config: Config) -> None:
        if not config.server_url:
            raise ValueError("backend 'server' needs server_url")
        self.config = config
        self.url = config.server_url.rstrip("/") + "/completions"

    def cache_key(self) -> str:
        """Endpoint, served model name and length limit: what the server side can be told apart by."""
        settings = f"max_new={self.config.max_new_tokens}:prompt:{PROMPT_VERSION}"
        return f"server:{self.url}:{self.config.server_model}:{settings}"

    def generate(self, contexts: Sequence[FunctionContext], style: Style) -> list[Generation | None]:
        """One generation per context; a batch the server fails gives None for its contexts, with a warning."""
        return self.complete([build_prompt(ctx, style) for ctx in contexts])

    def generate_prompts(self, prompts: Sequence[Prompt], strict: bool = False) -> list[str | None]:
        """Cut completions for built prompts, as text (see ``complete``)."""
        return [g.text if g else None for g in self.complete(prompts, strict)]

    def complete(self, prompts: Sequence[Prompt], strict: bool = False) -> list[Generation | None]:
        """Cut completions for built prompts (either task); ``strict`` re-raises a failing batch."""
        results: list[Generation | None] = []
        size = self.config.batch_size
        for start in range(0, len(prompts), size):
            batch = prompts[start : start + size]
            try:
                answers = self._complete([prompt.text for prompt in batch])
            except ServerError as exc:
                if strict:
                    raise
                # A server that is down or hanging would cost a timeout per batch: give up on the rest.
                failed = len(prompts) - start if exc.unreachable else len(batch)
                warnings.warn(f"{self.url}: {exc}; {failed} function(s) fall back to the template", stacklevel=2)
                results += [None] * failed
                if exc.unreachable:
                    break
                continue
            results += [to_generation(prompt, text, *logprobs) for prompt, (text, logprobs) in zip(batch, answers)]
        return results

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        env = self.config.server_api_key_env
        if env:
            key = os.environ.get(env)
            if not key:
                raise ServerError(f"environment variable {env} (server_api_key_env) is not set")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _complete(self, prompts: list[str]) -> list[tuple[str, tuple[list[int], list[float]]]]:
        body: dict[str, Any] = {
            "model": self.config.server_model or "default",
            "prompt": prompts,
            "max_tokens": self.config.max_new_tokens,
            "temperature": 0,
            "stop": list(STOP_STRINGS),
            "logprobs": 1,  # the chosen tokens' log-probabilities (and one alternative: the least asked)
        }
        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.config.server_timeout) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise ServerError(f"HTTP {exc.code} {exc.reason}") from None
        except OSError as exc:  # URLError, refused connections and timeouts are all OSErrors
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise ServerError(f"no answer within {self.config.server_timeout:g} s", unreachable=True) from None
            raise ServerError(f"cannot reach the server ({reason})", unreachable=True) from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ServerError("the answer is not JSON") from None
        return _choice_texts(answer, len(prompts))


def _token_logprobs(choice: dict, text: str) -> tuple[list[int], list[float]]:
    """(start of each token in ``text``, its log-probability) from the OpenAI ``logprobs`` field.

    Empty when the server sent none or sent tokens whose text does not spell ``text`` (some
    servers write a partial character's bytes as "bytes:\\xe2"): offsets would be wrong.
    """
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        return [], []
    tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
    if not isinstance(tokens, list) or not isinstance(values, list) or len(tokens) != len(values):
        return [], []
    if not all(isinstance(t, str) for t in tokens) or not all(isinstance(v, (int, float)) for v in values):
        return [], []
    # A server that stopped at a stop string may list the stop string's tokens too.
    if not "".join(tokens).startswith(text):
        return [], []
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token)
    return starts, [float(v) for v in values]


def _choice_texts(answer: Any, expected: int) -> list[tuple[str, tuple[list[int], list[float]]]]:
    """Each completion's text, tokens' starts and log-probabilities, in prompt order (servers may not keep it)."""
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or len(choices) != expected:
        raise ServerError(f"expected {expected} choices in the answer")
    try:
        ordered = sorted(choices, key=lambda choice: choice.get("index", 0))
        texts = [choice["text"] for choice in ordered]
    except (AttributeError, KeyError, TypeError):
        raise ServerError("a choice has no text") from None
    if not all(isinstance(text, str) for text in texts):
        raise ServerError("a choice's text is not a string")
    return [(text, _token_logprobs(choice, text)) for choice, text in zip(ordered, texts)]


__all__ = ["ServerBackend", "ServerError"]

"""What a server says about the model it serves: its id, its context, its tokenizer, and whether it
is DocuCode's own shipped model.

Each engine says it in its own place, read here from their documentation: the model list
(``/v1/models``: every OpenAI-compatible server; vLLM adds ``max_model_len``, llama.cpp's
``llama-server`` a ``meta.n_ctx_train``), llama.cpp's ``/props`` (the served ``n_ctx``), LM
Studio's ``/api/v0/models/{id}`` (``loaded_context_length``), and a tokenizer endpoint
(``/tokenize`` in llama.cpp and vLLM, ``/extras/tokenize/count`` in llama-cpp-python).
Where none answers, prompts are measured by a conservative estimate.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from typing import Any, Callable, Mapping

from docucode_hook.backends.loading import DEFAULT_MODEL_DIR
from docucode_hook.backends.transport import ServerError, Transport, not_openai_compatible

# The shipped model's name, and the GGUF file types its export writes (docucode-small-f16.gguf).
SHIPPED_MODEL_NAME = DEFAULT_MODEL_DIR.name
SHIPPED_GGUF_TYPES = ("f32", "f16", "q8_0")
_SHIPPED_ID = re.compile(rf"{re.escape(SHIPPED_MODEL_NAME)}(?:[-.](?:{'|'.join(SHIPPED_GGUF_TYPES)}))?", re.IGNORECASE)
MODELS_PATH = "/models"
_LISTED = 5  # model ids a message names before "..."


def serves_shipped_model(model_id: str) -> bool:
    """Whether a served model id is DocuCode's shipped model, as the engines name it.

    llama.cpp names a model by its file (``/models/docucode-small-q8_0.gguf``), Ollama by its
    name and tag (``docucode-small:latest``), vLLM by its directory (``.../docucode-small``).
    """
    name = model_id.strip().replace("\\", "/").rsplit("/", 1)[-1]
    name = name.split(":", 1)[0]
    name = re.sub(r"\.gguf$", "", name, flags=re.IGNORECASE)
    return bool(_SHIPPED_ID.fullmatch(name))


def listed_models(transport: Transport) -> list[Mapping[str, Any]]:
    """The entries of the server's model list (``GET /v1/models``)."""
    answer = transport.get(MODELS_PATH)
    data = answer.get("data") if isinstance(answer, Mapping) else None
    if not isinstance(data, list):
        raise not_openai_compatible(urllib.parse.urlsplit(transport.base).path + MODELS_PATH, "a model list")
    return [entry for entry in data if isinstance(entry, Mapping) and isinstance(entry.get("id"), str)]


def choose_model(models: list[Mapping[str, Any]]) -> str:
    """The one model a server serves; a ServerError naming them when it serves none or several."""
    ids = [entry["id"] for entry in models]
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise ServerError("server-model is not set and the server lists no model at /v1/models")
    shown = ", ".join(ids[:_LISTED]) + (", ..." if len(ids) > _LISTED else "")
    raise ServerError(f"server-model is not set and the server serves {len(ids)} models ({shown}): "
                      "set server-model to one of them")


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def context_from_listing(entry: Mapping[str, Any]) -> int | None:
    """The context a model list entry states: vLLM's ``max_model_len``, llama.cpp's ``meta``."""
    meta = entry.get("meta") if isinstance(entry.get("meta"), Mapping) else {}
    for value in (entry.get("max_model_len"), entry.get("context_length"), meta.get("n_ctx"), meta.get("n_ctx_train")):
        if found := _positive_int(value):
            return found
    return None


def served_context(transport: Transport, model_id: str, listing: Mapping[str, Any] | None) -> int | None:
    """The context the engine serves the model with, in tokens; None when no engine endpoint says.

    llama.cpp's ``/props`` first (the ``-c`` the server runs with, where the model list gives the
    training context), then the model list's entry, then LM Studio's own model endpoint.
    """
    try:
        props = transport.get("/props", root=True)
    except ServerError as exc:
        if exc.unreachable:  # a server that is down or hanging would cost a timeout per question
            raise
        props = None
    if isinstance(props, Mapping):
        settings = props.get("default_generation_settings")
        settings = settings if isinstance(settings, Mapping) else {}
        if found := _positive_int(settings.get("n_ctx")) or _positive_int(props.get("n_ctx")):
            return found
    if listing and (found := context_from_listing(listing)):
        return found
    try:
        studio = transport.get(f"/api/v0/models/{urllib.parse.quote(model_id, safe='')}", root=True)
    except ServerError as exc:
        if exc.unreachable:
            raise
        return None
    if isinstance(studio, Mapping):
        return _positive_int(studio.get("loaded_context_length")) or _positive_int(studio.get("max_context_length"))
    return None


def estimated_tokens(text: str) -> int:
    """An estimate that errs long: half a token per UTF-8 byte (code averages 3-4 characters a token)."""
    return (len(text.encode("utf-8")) + 1) // 2 + 2


class TokenCounter:
    """Tokens of a text as the served model counts them, through the engine's tokenizer endpoint when
    it has one (found on the first call and kept), else ``estimated_tokens``."""

    def __init__(self, transport: Transport, model_id: str) -> None:
        self.transport, self.model_id = transport, model_id
        self._count: Callable[[str], int | None] | None = None
        self._known: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, text: str) -> int:
        """The number of tokens in ``text``."""
        with self._lock:
            if text not in self._known:
                self._known[text] = self._measure(text)
            return self._known[text]

    def _measure(self, text: str) -> int:
        if self._count is None:
            for count in (self._llama_or_vllm, self._llama_cpp_python):
                try:
                    if (found := count(text)) is not None:
                        self._count = count
                        return found
                except ServerError:
                    continue
            self._count = lambda _text: None
        try:
            found = self._count(text)
        except ServerError:
            found = None
        return found if found is not None else estimated_tokens(text)

    def _llama_or_vllm(self, text: str) -> int | None:
        # llama.cpp reads "content", vLLM "prompt" (and "model"); each ignores the other's fields.
        answer = self.transport.post("/tokenize", {"content": text, "prompt": text, "model": self.model_id,
                                                   "add_special": True}, root=True)
        if isinstance(answer, Mapping):
            if count := _positive_int(answer.get("count")):
                return count
            if isinstance(answer.get("tokens"), list):
                return len(answer["tokens"])
        return None

    def _llama_cpp_python(self, text: str) -> int | None:
        answer = self.transport.post("/extras/tokenize/count", {"input": text, "model": self.model_id}, root=True)
        return _positive_int(answer.get("count")) if isinstance(answer, Mapping) else None


__all__ = [
    "SHIPPED_GGUF_TYPES",
    "SHIPPED_MODEL_NAME",
    "TokenCounter",
    "choose_model",
    "context_from_listing",
    "estimated_tokens",
    "listed_models",
    "served_context",
    "serves_shipped_model",
]

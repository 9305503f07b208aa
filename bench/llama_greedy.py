"""Greedy tokens from llama.cpp for prompts, in the engine's own venv: ``.venv-llama/bin/python bench/llama_greedy.py``.

Reads ``{"model": PATH, "prompts": [...], "max_new_tokens": N}`` as JSON on stdin; writes, per
prompt, the ids llama.cpp tokenized it into (its BOS rule from the GGUF file) and the ids it
then chose greedily (no penalty, up to N or the end token) as a JSON list on stdout. It
imports llama_cpp and the standard library only: the hook's environment never imports it,
and ``bench/gguf_agreement.py`` runs it as a subprocess.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    from llama_cpp import Llama

    request = json.load(sys.stdin)
    llm = Llama(model_path=request["model"], n_ctx=request.get("n_ctx", 512), n_threads=request.get("threads"),
                verbose=False)
    end = llm.token_eos()
    rows = []
    for prompt in request["prompts"]:
        prompt_ids = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
        chosen: list[int] = []
        llm.reset()  # no prefix reuse across prompts: each starts from an empty context
        if len(prompt_ids) < llm.n_ctx():
            room = min(request["max_new_tokens"], llm.n_ctx() - len(prompt_ids))
            for token in llm.generate(prompt_ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
                if token == end or len(chosen) >= room:
                    break
                chosen.append(int(token))
        rows.append({"prompt_ids": [int(t) for t in prompt_ids], "ids": chosen})
    json.dump(rows, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Build tiny random models (Llama, GPT-2) and LoRA adapters on disk, for the tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # transformers is imported lazily: a test pays for it only when building
    from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}

# Enough Python and docstring text for a byte-level BPE to learn useful merges in a second.
_DEFAULT_CORPUS = (
    "### Instruction\nWrite a Google-style docstring for the Python function `add`.\n",
    "### Context\nimport: import os\nclass: Parser(Base) - Parse things.\ncalls: len, sorted\n",
    "### Code\ndef add(a: int, b: int = 2) -> int:\n    return a + b\n",
    "### Docstring\nAdd two numbers.\n\nArgs:\n    a: The first number.\n    b: The second number.\n\n"
    "Returns:\n    The sum of a and b.\n",
    'def read_config(path: str) -> dict:\n    """Read the configuration file."""\n'
    "    with open(path, encoding='utf-8') as handle:\n        return json.load(handle)\n",
    "Parameters\n----------\nitems : list of str\n    The items to sort.\n\nReturns\n-------\nlist\n"
    "    The sorted items.\n\nRaises\n------\nValueError\n    If items is empty.\n",
    ":param name: The name to greet.\n:type name: str\n:returns: A greeting.\n:rtype: str\n",
    "class Stack:\n    def push(self, item):\n        self.items.append(item)\n\n"
    "    def pop(self):\n        if not self.items:\n            raise IndexError('empty')\n"
    "        return self.items.pop()\n",
    "async def fetch(url: str, timeout: float = 10.0) -> bytes:\n    for attempt in range(3):\n"
    "        yield await client.get(url, timeout=timeout)\n",
)


def train_tokenizer(corpus: Iterable[str], vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``corpus``, wrapped for ``save_pretrained``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(corpus), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)


def build_tiny_model(
    out_dir: Path,
    corpus: Iterable[str] | None = None,
    vocab_size: int = 512,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    seed: int = 0,
) -> Path:
    """Save a random-init ``LlamaForCausalLM`` and its tokenizer to ``out_dir`` (safetensors)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(corpus if corpus is not None else _DEFAULT_CORPUS, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    return _save_random(LlamaForCausalLM, config, tokenizer, out_dir, seed)


def build_tiny_gpt2(out_dir: Path, vocab_size: int = 512, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Save a random-init ``GPT2LMHeadModel`` and its tokenizer: a model that is not Llama-shaped."""
    from transformers import GPT2Config, GPT2LMHeadModel

    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(_DEFAULT_CORPUS, vocab_size)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=1024,
        n_embd=hidden,
        n_layer=layers,
        n_head=4,
        # GPT-2's own 0.02 makes a random model write nothing but newlines, which the cut drops.
        initializer_range=0.5,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return _save_random(GPT2LMHeadModel, config, tokenizer, out_dir, seed)


def _save_random(model_class: Any, config: Any, tokenizer: Any, out_dir: Path, seed: int) -> Path:
    """A seeded random-init ``model_class`` and ``tokenizer``, saved as a model directory (safetensors)."""
    import torch

    torch.manual_seed(seed)
    model = model_class(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def build_tiny_adapter(model_dir: Path, out_dir: Path, rank: int = 8, seed: int = 1) -> Path:
    """Save a LoRA adapter (q_proj, v_proj) for ``model_dir`` whose weights change the outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True, use_safetensors=True)
    lora = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    model = get_peft_model(base, lora)
    # PEFT initialises B to zero (a no-op adapter); a trained adapter is not, so fill it.
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    model.save_pretrained(out_dir, safe_serialization=True)
    return Path(out_dir)


__all__ = ["SPECIAL_TOKENS", "build_tiny_adapter", "build_tiny_gpt2", "build_tiny_model", "train_tokenizer"]

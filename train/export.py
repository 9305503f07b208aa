"""Export a model for the hook's fast path: merge a LoRA adapter into its base, write the CTranslate2 int8 model.

A team that fine-tuned an adapter with ``train.qlora`` gets CTranslate2 speed for it::

    python -m train.export --base src/docucode_hook/models/docucode-small \
        --adapter runs/qlora-numpy-family --out runs/numpy-family-ct2

then ``model = "runs/numpy-family-ct2"`` in ``[tool.docucode]``. The merged checkpoint is
also saved as a standard HF directory (``--hf-out``, default ``OUT-hf``): the canonical
format, to train further or to run through transformers. Without ``--adapter`` the base
is converted as it is, as the hook itself does on first use. The conversion is the hook's
own (``docucode_hook.backends.convert``); only the merge needs torch, transformers and PEFT.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from docucode_hook.backends.convert import QUANTIZATION, ConversionError, convert_to_ct2, read_config, unconvertible_reason

# The dtype the merged weights are saved in, by the base's: numpy (and so the converter)
# cannot read bfloat16, and float32 keeps what bfloat16 held.
_SAVED_DTYPES = {"float16": "float16", "float32": "float32", "bfloat16": "float32"}


class UsageError(Exception):
    """Bad arguments or a model that cannot be exported; reported as one line and exit status 2."""


@dataclass(frozen=True)
class ExportArgs:
    base: Path
    out: Path
    adapter: Path | None = None
    hf_out: Path | None = None  # default: OUT-hf when there is an adapter to merge
    quantization: str = QUANTIZATION


def merge_adapter(base: Path, adapter: Path, hf_out: Path) -> Path:
    """Save ``base`` with the LoRA ``adapter`` merged into its weights (safetensors) and its tokenizer."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = read_config(base)
    saved = _SAVED_DTYPES.get(str(config.get("dtype") or config.get("torch_dtype")), "float32")
    # Merge in float32: W + BA is added once, rounding only when saved.
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, local_files_only=True, use_safetensors=True)
    merged = PeftModel.from_pretrained(model, str(adapter), is_trainable=False).merge_and_unload()
    merged.to(getattr(torch, saved)).save_pretrained(hf_out, safe_serialization=True)
    AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(hf_out)
    return hf_out


def export(args: ExportArgs) -> tuple[Path, Path]:
    """(the HF directory converted, the CTranslate2 model directory written)."""
    if not (args.base / "config.json").is_file():
        raise UsageError(f"{args.base}: not a model directory (no config.json)")
    if reason := unconvertible_reason(args.base):  # before the merge, which takes a while
        raise UsageError(f"{args.base}: cannot convert to CTranslate2: {reason}")
    source = args.base
    if args.adapter is not None:
        if not (args.adapter / "adapter_model.safetensors").is_file():
            raise UsageError(f"{args.adapter}: no adapter_model.safetensors")
        hf_out = args.hf_out or args.out.with_name(args.out.name + "-hf")
        if hf_out.resolve() in (args.base.resolve(), args.out.resolve()):
            raise UsageError(f"{hf_out}: the merged checkpoint needs a directory of its own")
        if hf_out.exists():
            shutil.rmtree(hf_out)
        source = merge_adapter(args.base, args.adapter, hf_out)
    try:
        return source, convert_to_ct2(source, args.out, args.quantization)
    except ConversionError as exc:
        raise UsageError(str(exc)) from None


def parse_args(argv: Sequence[str] | None = None) -> ExportArgs:
    parser = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the base model: a local HF Llama directory")
    parser.add_argument("--adapter", type=Path, help="a PEFT LoRA adapter trained on --base (train.qlora)")
    parser.add_argument("--out", type=Path, required=True, help="the CTranslate2 model directory to write (replaced)")
    parser.add_argument("--hf-out", type=Path, help="where the merged HF checkpoint goes (default: OUT-hf)")
    parser.add_argument("--quantization", default=QUANTIZATION, help=f"CTranslate2 weight type (default {QUANTIZATION})")
    ns = parser.parse_args(argv)
    return ExportArgs(base=ns.base, out=ns.out, adapter=ns.adapter, hf_out=ns.hf_out, quantization=ns.quantization)


def main(argv: Sequence[str] | None = None) -> int:
    """Export one model; 0 on success, 2 on bad arguments or a model that cannot be converted."""
    args = parse_args(argv)
    try:
        source, out = export(args)
    except UsageError as exc:
        print(f"train.export: error: {exc}", file=sys.stderr)
        return 2
    merged = f" (merged checkpoint: {source})" if source != args.base else ""
    print(f"CTranslate2 model written to {out}{merged}; use it with model = \"{out}\"")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

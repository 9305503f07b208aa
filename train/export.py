"""Export a model for an engine: the CTranslate2 int8 model of the hook's fast path, or a GGUF file for llama.cpp and Ollama.

A team that fine-tuned an adapter with ``train.qlora`` gets CTranslate2 speed for it::

    python -m train.export --base src/docucode_hook/models/docucode-small \
        --adapter runs/qlora-numpy-family --out runs/numpy-family-ct2

then ``model = "runs/numpy-family-ct2"`` in ``[tool.docucode]``. The same model reaches
llama.cpp's server and Ollama as a GGUF file, with an Ollama ``Modelfile`` written beside it::

    python -m train.export --format gguf --out models/ --outtype q8_0          # the shipped model
    python -m train.export --format gguf --adapter runs/qlora-numpy-family --out runs/numpy-family.gguf

``--base`` defaults to the shipped model. The merged checkpoint is also saved as a standard HF
directory (``--hf-out``, default ``OUT-hf``): the canonical format, to train further or to run
through transformers. Without ``--adapter`` the base is converted as it is, as the hook itself
does on first use. Both conversions read the safetensors with numpy (the CTranslate2 one is the
hook's own, ``docucode_hook.backends.convert``; the GGUF one needs ``pip install 'docucode[gguf]'``);
only the merge needs torch, transformers and PEFT.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from docucode_hook.backends.convert import QUANTIZATION, ConversionError, convert_to_ct2, read_config, unconvertible_reason
from docucode_hook.backends.loading import DEFAULT_MODEL_DIR
from docucode_hook.backends.served import SHIPPED_GGUF_TYPES
from docucode_hook.backends.server import COMPLETION_STOPS
from docucode_hook.config import Config
from train.gguf_file import DEFAULT_OUTTYPE, MODELFILE, GGUFExportError, gguf_unsupported_reason

FORMATS = ("ct2", "gguf")

# The dtype the merged weights are saved in, by the base's: numpy (and so the converter)
# cannot read bfloat16, and float32 keeps what bfloat16 held.
_SAVED_DTYPES = {"float16": "float16", "float32": "float32", "bfloat16": "float32"}


class UsageError(Exception):
    """Bad arguments or a model that cannot be exported; reported as one line and exit status 2."""


@dataclass(frozen=True)
class ExportArgs:
    out: Path
    base: Path = DEFAULT_MODEL_DIR
    adapter: Path | None = None
    hf_out: Path | None = None  # default: OUT-hf when there is an adapter to merge
    quantization: str = QUANTIZATION
    format: str = "ct2"
    outtype: str = DEFAULT_OUTTYPE  # GGUF only


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the HF directory it read, the model, and (GGUF) the Modelfile beside it."""

    source: Path
    model: Path
    modelfile: Path | None = None


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


def gguf_path(args: ExportArgs) -> Path:
    """The GGUF file to write: ``--out`` when it ends in ``.gguf``, else ``NAME-OUTTYPE.gguf`` inside the directory ``--out``.

    NAME is the model's directory name (the adapter's when one is merged), so the shipped model
    is ``docucode-small-q8_0.gguf``: the id by which the server backend knows it is serving
    the shipped model and applies its calibrated gates.
    """
    if args.out.suffix != ".gguf":
        return args.out / f"{(args.adapter or args.base).name}-{args.outtype}.gguf"
    return args.out


def _merged_source(args: ExportArgs, out: Path) -> Path:
    """The HF directory to convert: ``--base``, or the adapter merged into it (saved to ``--hf-out``)."""
    if args.adapter is None:
        return args.base
    if not (args.adapter / "adapter_model.safetensors").is_file():
        raise UsageError(f"{args.adapter}: no adapter_model.safetensors")
    hf_out = args.hf_out or out.with_name(out.name.removesuffix(".gguf") + "-hf")
    if hf_out.resolve() in (args.base.resolve(), out.resolve()):
        raise UsageError(f"{hf_out}: the merged checkpoint needs a directory of its own")
    if hf_out.exists():
        shutil.rmtree(hf_out)
    return merge_adapter(args.base, args.adapter, hf_out)


def export(args: ExportArgs) -> Exported:
    """Write the model ``args`` asks for; UsageError (one line) for arguments or a model it cannot export."""
    if args.format not in FORMATS:
        raise UsageError(f"unknown format {args.format!r} (one of {', '.join(FORMATS)})")
    if not (args.base / "config.json").is_file():
        raise UsageError(f"{args.base}: not a model directory (no config.json)")
    if args.format == "gguf":
        return _export_gguf(args)
    if reason := unconvertible_reason(args.base):  # before the merge, which takes a while
        raise UsageError(f"{args.base}: cannot convert to CTranslate2: {reason}")
    source = _merged_source(args, args.out)
    try:
        return Exported(source, convert_to_ct2(source, args.out, args.quantization))
    except ConversionError as exc:
        raise UsageError(str(exc)) from None


def _export_gguf(args: ExportArgs) -> Exported:
    from train.gguf_file import modelfile_text, write_gguf

    if args.outtype not in SHIPPED_GGUF_TYPES:
        raise UsageError(f"unknown outtype {args.outtype!r} (one of {', '.join(SHIPPED_GGUF_TYPES)})")
    if reason := gguf_unsupported_reason(args.base):
        raise UsageError(f"{args.base}: cannot export to GGUF: {reason}")
    try:
        import gguf  # noqa: F401  # before the merge, which takes a while
    except ImportError:
        raise UsageError("the gguf library is not installed: pip install 'docucode[gguf]'") from None
    out = gguf_path(args)
    source = _merged_source(args, out)
    try:
        written = write_gguf(source, out, args.outtype, name=(args.adapter or args.base).name)
    except GGUFExportError as exc:
        raise UsageError(str(exc)) from None
    context = int(read_config(source).get("max_position_embeddings") or 2048)
    modelfile = written.parent / MODELFILE
    text = modelfile_text(written.name, COMPLETION_STOPS, context, Config().max_new_tokens)
    modelfile.write_text(text, encoding="utf-8")
    return Exported(source, written, modelfile)


def parse_args(argv: Sequence[str] | None = None) -> ExportArgs:
    parser = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=FORMATS, default="ct2",
                        help="ct2: the CTranslate2 model the hook runs (default); gguf: a GGUF file for llama.cpp and Ollama")
    parser.add_argument("--base", type=Path, default=DEFAULT_MODEL_DIR,
                        help="the base model: a local HF Llama directory (default: the shipped model)")
    parser.add_argument("--adapter", type=Path, help="a PEFT LoRA adapter trained on --base (train.qlora)")
    parser.add_argument("--out", type=Path, required=True,
                        help="ct2: the model directory to write (replaced); gguf: the .gguf file, or a directory to "
                             "write NAME-OUTTYPE.gguf in")
    parser.add_argument("--hf-out", type=Path, help="where the merged HF checkpoint goes (default: OUT-hf)")
    parser.add_argument("--quantization", default=QUANTIZATION, help=f"CTranslate2 weight type (default {QUANTIZATION})")
    parser.add_argument("--outtype", choices=SHIPPED_GGUF_TYPES, default=DEFAULT_OUTTYPE,
                        help=f"GGUF weight type (default {DEFAULT_OUTTYPE})")
    ns = parser.parse_args(argv)
    return ExportArgs(out=ns.out, base=ns.base, adapter=ns.adapter, hf_out=ns.hf_out, quantization=ns.quantization,
                      format=ns.format, outtype=ns.outtype)


def main(argv: Sequence[str] | None = None) -> int:
    """Export one model; 0 on success, 2 on bad arguments or a model that cannot be converted."""
    args = parse_args(argv)
    try:
        exported = export(args)
    except UsageError as exc:
        print(f"train.export: error: {exc}", file=sys.stderr)
        return 2
    merged = f" (merged checkpoint: {exported.source})" if exported.source != args.base else ""
    if exported.modelfile is None:
        print(f"CTranslate2 model written to {exported.model}{merged}; use it with model = \"{exported.model}\"")
    else:
        print(f"GGUF file written to {exported.model}{merged}; Ollama: ollama create NAME -f {exported.modelfile}; "
              f"llama.cpp: python -m llama_cpp.server --model {exported.model}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env bash
# Build .devsite-gpu/: the packages the GPU machine's image lacks (it has torch, transformers,
# peft, accelerate, pandas, pyarrow), unpacked for CPython 3.12 and put on PYTHONPATH there.
# bitsandbytes ships a library per CUDA version (43 MB); only the image's CUDA 13.0 one is kept
# so that the tree that travels stays under 64 MiB with the shipped model in it. For the same
# reason rich goes without pygments and markdown-it (only its syntax and markdown renderers use
# them; nothing on the GPU machine does), and libcst without its tests and codemods.
set -euo pipefail
cd "$(dirname "$0")/.."
wheels=$(mktemp -d)
for spec in bitsandbytes==0.50.2 trl==1.16.0 datasets==5.2.0 dill multiprocess docstring-parser xxhash \
            platformdirs rich libcst threadpoolctl; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any -d "$wheels" "$spec"
done
rm -rf .devsite-gpu
python3 -m pip install -q --no-deps --no-compile --target .devsite-gpu --python-version 3.12 --implementation cp \
  --only-binary=:all: --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform any "$wheels"/*.whl
find .devsite-gpu/bitsandbytes -name "*.so" ! -name libbitsandbytes_cuda130.so ! -name libbitsandbytes_cpu.so -delete
rm -rf .devsite-gpu/libcst/tests .devsite-gpu/libcst/codemod .devsite-gpu/bin
strip .devsite-gpu/libcst/native.*.so
du -sh .devsite-gpu

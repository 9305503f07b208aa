#!/usr/bin/env bash
# DocuCode-small v3 on the GPU machine, one subcommand a GPU command (docs/retraining.md):
#   bash train/device_v3.sh upload K    # carry data/shards/part-K: copy it to /root/v3/part-K
#   bash train/device_v3.sh status      # which parts and which checkpoint the machine holds
#   bash train/device_v3.sh train [ARGS] # train or resume for at most 8.5 minutes; when the run
#                                        # is finished, the model is exported into $OUT
# The machine keeps /root/v3 and /root/v3-run only while it stays warm (a few seconds after a
# command), so the calls must follow one another without a pause. The image has everything
# train.pretrain needs (torch, transformers, numpy, pyyaml): no .devsite-gpu is carried.
set -euo pipefail
cd "$(dirname "$0")/.."
# train.pretrain imports train.shards -> train.mine -> docucode_hook, which needs docstring_parser
# and libcst: the image lacks both. Carry their wheels once in .whl2/ (docs/retraining.md);
# they are installed into /root/site, which lasts while the machine stays warm.
if compgen -G ".whl2/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /root/site .whl2/*.whl
fi
export PYTHONPATH=$PWD/src:$PWD:/root/site PYTHONUNBUFFERED=1
# Overridable for a CPU rehearsal: V3_SHARDS=... V3_RUN=... V3_CONFIG=train/configs/pretrain-tiny.yaml
SHARDS=${V3_SHARDS:-/root/v3}
RUN=${V3_RUN:-/root/v3-run}
CONFIG=${V3_CONFIG:-train/configs/pretrain-v3.yaml}

export_model() {
  # At most 8 files of 16 MiB come back: the weight shards (15 MB each) as they are, the small
  # files of the HF directory in one archive, and the logs.
  cp "$RUN"/model*.safetensors "$OUT"/
  (cd "$RUN" && tar czf "$OUT/v3-small-files.tgz" --exclude='*.safetensors' --exclude=checkpoint \
    --exclude='curve-*' --exclude='*.log' .)
  for curve in "$RUN"/curve-*; do
    [ -d "$curve" ] || continue
    tar czf "$OUT/$(basename "$curve").tgz" -C "$curve" .
  done
  ls -l "$OUT"
}

case "${1:-}" in
  upload)
    part=data/shards/part-${2:?part number}
    [ -d "$part" ] || { echo "error: $part: not carried (carry it in this call)" >&2; exit 2; }
    mkdir -p "$SHARDS" && cp -r "$part" "$SHARDS"/
    du -sh "$SHARDS"/part-* ;;
  status)
    du -sh "$SHARDS"/part-* 2>/dev/null || echo "no parts in $SHARDS"
    python3 -c "import json; m=json.load(open('$SHARDS/part-0/manifest.json')); print('parts needed:', sorted(m['parts']))" \
      2>/dev/null || echo "no manifest (part-0 missing)"
    ls -l "$RUN"/checkpoint 2>/dev/null || echo "no checkpoint in $RUN" ;;
  train)
    shift
    resume=()
    [ -f "$RUN/checkpoint/state.pt" ] && resume=(--resume)
    mkdir -p "$RUN"
    n=$(find "$RUN" -maxdepth 1 -name 'call-*.log' | wc -l)
    log="$RUN/call-$((n + 1)).log"
    set +e
    python3 -m train.pretrain --config "$CONFIG" --shards "$SHARDS" --out "$RUN" "${resume[@]}" \
      --stop-after "${V3_STOP_AFTER:-8.5}" "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    cp "$log" "$OUT"/
    [ "$status" -eq 0 ] || exit "$status"
    if grep -q '"finished": true' "$RUN/training_log.json" 2>/dev/null; then export_model; fi ;;
  *)
    echo "usage: bash train/device_v3.sh upload K | status | train [train.pretrain options]" >&2
    exit 2 ;;
esac

#!/usr/bin/env bash
# Kaldi yesno: a smoke recipe that runs end to end in about a minute on two CPU cores.
# Run from the repository root. YESNO_SOURCE: a local waves_yesno.tar.gz or folder;
# unset, the archive is downloaded from OpenSLR.
set -euo pipefail
stage=${1:-1}
data=${DATA:-data/yesno}
run=${RUN:-runs/yesno}
source_args=()
[ -n "${YESNO_SOURCE:-}" ] && source_args=(--source "$YESNO_SOURCE")

if [ "$stage" -le 1 ]; then
  recognize prepare yesno "${source_args[@]}" --out "$data"
fi
if [ "$stage" -le 2 ]; then
  recognize train configs/yesno.yaml --out "$run" \
    --set train.train_manifest="$data/train.jsonl" --set train.dev_manifest="$data/dev.jsonl"
fi
if [ "$stage" -le 3 ]; then
  recognize evaluate "$data/dev.jsonl" --model "$run/best.pt"
fi

#!/usr/bin/env bash
# LibriSpeech: prepare -> train (torchrun, K processes) -> average -> evaluate -> export.
# Run from the repository root:
#   LIBRISPEECH_SOURCE=/data/LibriSpeech-parent NPROC=8 bash recipes/librispeech/run.sh
# LIBRISPEECH_SOURCE: a folder holding LibriSpeech/<part>/ (or one part's archive);
# unset, train-clean-100, dev-clean, dev-other, test-clean and test-other are downloaded
# from OpenSLR (about 7 GB).
set -euo pipefail
stage=${1:-1}
data=${DATA:-data/librispeech}
run=${RUN:-runs/librispeech}
nproc=${NPROC:-1}
source_args=()
[ -n "${LIBRISPEECH_SOURCE:-}" ] && source_args=(--source "$LIBRISPEECH_SOURCE")

if [ "$stage" -le 1 ]; then
  echo "== stage 1: prepare manifests in $data"
  recognize prepare librispeech "${source_args[@]}" --out "$data"
fi
if [ "$stage" -le 2 ]; then
  echo "== stage 2: train into $run on $nproc processes (resumable: rerun this stage after a crash)"
  resume=()
  [ -f "$run/last.pt" ] && resume=(--resume)
  torchrun --standalone --nproc_per_node="$nproc" -m recognize train configs/librispeech.yaml --out "$run" "${resume[@]}" \
    --set train.train_manifest="$data/train-clean-100.jsonl" --set train.dev_manifest="$data/dev-clean.jsonl"
fi
if [ "$stage" -le 3 ]; then
  echo "== stage 3: average the 5 best epochs, evaluate on every dev and test part (sharded)"
  recognize average --run "$run" --best 5 -o "$run/avg.pt"
  for part in dev-clean dev-other test-clean test-other; do
    [ -f "$data/$part.jsonl" ] || continue
    torchrun --standalone --nproc_per_node="$nproc" -m recognize evaluate "$data/$part.jsonl" \
      --model "$run/avg.pt" --device auto --report "$run/report_$part"
  done
fi
if [ "$stage" -le 4 ]; then
  echo "== stage 4: release and export for onnxruntime (int8)"
  recognize release "$run/avg.pt" -o "$run/model.pt"
  recognize export "$run/model.pt" -o "$run/model.onnx" --int8
fi

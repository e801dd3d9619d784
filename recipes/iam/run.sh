#!/usr/bin/env bash
# IAM text lines: prepare -> train -> average -> evaluate -> export.
# Run from the repository root:
#   IAM_SOURCE=/data/iam bash recipes/iam/run.sh
# IAM_SOURCE: a folder with ascii/lines.txt, lines/ (from lines.tgz) and the split files
# of largeWriterIndependentTextLineRecognitionTask.zip. IAM downloads need a free
# registration at https://fki.tic.heia-fr.ch/register, so there is no automatic download.
set -euo pipefail
stage=${1:-1}
data=${DATA:-data/iam}
run=${RUN:-runs/iam}
nproc=${NPROC:-1}
: "${IAM_SOURCE:?set IAM_SOURCE to the folder holding the IAM files (see the header of this script)}"

if [ "$stage" -le 1 ]; then
  echo "== stage 1: prepare manifests in $data"
  recognize prepare iam --source "$IAM_SOURCE" --out "$data"
fi
if [ "$stage" -le 2 ]; then
  echo "== stage 2: train into $run on $nproc processes"
  resume=()
  [ -f "$run/last.pt" ] && resume=(--resume)
  torchrun --standalone --nproc_per_node="$nproc" -m recognize train configs/iam.yaml --out "$run" "${resume[@]}" \
    --set train.train_manifest="$data/train.jsonl" --set train.dev_manifest="$data/val1.jsonl"
fi
if [ "$stage" -le 3 ]; then
  echo "== stage 3: average the 5 best epochs, evaluate on validation set 2 and the test set"
  recognize average --run "$run" --best 5 -o "$run/avg.pt"
  recognize evaluate "$data/val2.jsonl" --model "$run/avg.pt" --report "$run/report_val2"
  recognize evaluate "$data/test.jsonl" --model "$run/avg.pt" --report "$run/report_test"
fi
if [ "$stage" -le 4 ]; then
  echo "== stage 4: release and export for onnxruntime (int8)"
  recognize release "$run/avg.pt" -o "$run/model.pt"
  recognize export "$run/model.pt" -o "$run/model.onnx" --int8
fi

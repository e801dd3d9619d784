#!/usr/bin/env bash
# "Copiste d'un jour" handwriting: prepare -> train -> evaluate -> release -> export -> LM and tuned decoding.
# Run from the repository root:
#   COPISTE_SOURCE=../shared/data/copiste bash recipes/copiste/run.sh
# COPISTE_SOURCE: the folder with lines.tsv + lines/ (line crops), or a folder in the
# original repository layout (ALTO XML + JPEG pages); unset, the repository is downloaded.
set -euo pipefail
stage=${1:-1}
data=${DATA:-data/copiste}
run=${RUN:-runs/copiste}
source_args=()
[ -n "${COPISTE_SOURCE:-}" ] && source_args=(--source "$COPISTE_SOURCE")

if [ "$stage" -le 1 ]; then
  echo "== stage 1: prepare manifests in $data"
  recognize prepare copiste "${source_args[@]}" --out "$data"
fi
if [ "$stage" -le 2 ]; then
  echo "== stage 2: train into $run"
  recognize train configs/copiste.yaml --out "$run" \
    --set train.train_manifest="$data/train.jsonl" --set train.dev_manifest="$data/val.jsonl"
fi
if [ "$stage" -le 3 ]; then
  echo "== stage 3: evaluate the best checkpoint on the validation writers"
  recognize evaluate "$data/val.jsonl" --model "$run/best.pt" --report "$run/val_report"
fi
if [ "$stage" -le 4 ]; then
  echo "== stage 4: release checkpoint (no optimizer state, float16 weights)"
  recognize release "$run/best.pt" -o "$run/model.pt" --stretch-contrast --level-lines
fi
if [ "$stage" -le 5 ]; then
  echo "== stage 5: export for onnxruntime (int8)"
  recognize export "$run/model.pt" -o "$run/model.onnx" --int8
fi
if [ "$stage" -le 6 ]; then
  echo "== stage 6: character 6-gram of the training text (x3) and 20,000 French words; beam search tuned on the validation writers"
  cp recognize/models/copiste/french_words.txt "$run/french_words.txt"
  recognize lm build "$data/train.jsonl" "$run/french_words.txt" --repeat 3 \
    -o "$run/lm.arpa.gz" --order 6 --unit char
  recognize tune "$data/val.jsonl" --model "$run/model.onnx" --lm "$run/lm.arpa.gz" \
    --lexicon "$run/french_words.txt" --unknown-penalties 2 3 4 --alphas 0.3 0.5 0.8 1.0 --betas 0 0.5 1 1.5
  recognize evaluate "$data/val.jsonl" --model "$run/model.onnx" --report "$run/val_report_beam"
fi

#!/usr/bin/env bash
# CMU AN4: prepare -> train -> evaluate -> release -> export -> LM and tuned decoding -> other channels
# -> epochs on other channels (the bundled model).
# Run from the repository root:
#   bash recipes/an4/run.sh            # all stages
#   bash recipes/an4/run.sh 3          # from stage 3 on
# AN4_SOURCE: a local an4_sphere archive or folder; unset, the release is downloaded.
set -euo pipefail
stage=${1:-1}
data=${DATA:-data/an4}
run=${RUN:-runs/an4}
source_args=()
[ -n "${AN4_SOURCE:-}" ] && source_args=(--source "$AN4_SOURCE")

# read_copies RUN_FOLDER: its model.onnx on stage 7's dev copies, both decoders, into RUN_FOLDER/dev-COPY-DECODER.json
read_copies() {
  for copy in 8k white20 pink20 white10 pink10 pad1; do
    for decoder in beam greedy; do
      recognize evaluate "$data/dev-$copy.jsonl" --model "$1/model.onnx" --decoder "$decoder" --json \
        > "$1/dev-$copy-$decoder.json"
    done
  done
}

if [ "$stage" -le 1 ]; then
  echo "== stage 1: prepare manifests in $data"
  recognize prepare an4 "${source_args[@]}" --out "$data"
fi
if [ "$stage" -le 2 ]; then
  echo "== stage 2: train into $run"
  recognize train configs/an4.yaml --out "$run" \
    --set train.train_manifest="$data/train.jsonl" --set train.dev_manifest="$data/dev.jsonl"
fi
if [ "$stage" -le 3 ]; then
  echo "== stage 3: evaluate the best checkpoint on the dev speakers"
  recognize evaluate "$data/dev.jsonl" --model "$run/best.pt" --report "$run/dev_report"
  [ -f "$data/test.jsonl" ] && recognize evaluate "$data/test.jsonl" --model "$run/best.pt" --report "$run/test_report"
fi
if [ "$stage" -le 4 ]; then
  echo "== stage 4: release checkpoint (no optimizer state, float16 weights)"
  recognize release "$run/best.pt" -o "$run/model.pt"
fi
if [ "$stage" -le 5 ]; then
  echo "== stage 5: export for onnxruntime (int8)"
  recognize export "$run/model.pt" -o "$run/model.onnx" --int8
fi
if [ "$stage" -le 6 ]; then
  echo "== stage 6: word 4-gram of the training transcripts and spelled English words; beam search tuned on the dev speakers"
  recognize lm build "$data/train.jsonl" --repeat 10 --spell "$(dirname "$0")/english_words.txt" \
    -o "$run/lm.arpa.gz" --order 4
  cp "$data/lexicon.txt" "$run/lexicon.txt"
  recognize tune "$data/dev.jsonl" --model "$run/model.onnx" --lm "$run/lm.arpa.gz" --lexicon "$run/lexicon.txt" \
    --alphas 0.3 0.5 0.8 1.0 1.5 --betas 0 1 2 3 4 5
  recognize evaluate "$data/dev.jsonl" --model "$run/model.onnx" --report "$run/dev_report_beam"
fi
if [ "$stage" -le 7 ]; then
  echo "== stage 7: the dev speakers through other channels: 8 kHz, noise at 20 and 10 dB SNR, a second of silence around"
  recognize degrade "$data/dev.jsonl" -o "$data/dev-8k.jsonl" --sample-rate 8000
  for snr in 20 10; do
    for noise in white pink; do
      recognize degrade "$data/dev.jsonl" -o "$data/dev-$noise$snr.jsonl" --snr "$snr" --noise "$noise"
    done
  done
  recognize degrade "$data/dev.jsonl" -o "$data/dev-pad1.jsonl" --pad 1
  read_copies "$run"
fi
if [ "$stage" -le 8 ]; then
  echo "== stage 8: 20 epochs more with half the utterances through another channel; released, exported, read as stage 7"
  recognize train configs/an4.yaml --init "$run/model.pt" --out "$run-channel" \
    --set train.train_manifest="$data/train.jsonl" --set train.dev_manifest="$data/dev.jsonl" \
    --set augment.channel=0.5 --set train.epochs=20 --set train.lr=0.0005 --set train.warmup_steps=100
  recognize release "$run-channel/last.pt" -o "$run-channel/model.pt"
  recognize export "$run-channel/model.pt" -o "$run-channel/model.onnx" --int8
  cp "$run/lm.arpa.gz" "$run/lexicon.txt" "$run-channel/"
  # stage 6's LM weight and bonus, not tuned again (choosing among 30 on the dev speakers flatters them)
  read -r alpha beta < <(python -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["alpha"], d["beta"])' \
    "$run/model.decoding.json")
  recognize tune "$data/dev.jsonl" --model "$run-channel/model.onnx" --lm "$run-channel/lm.arpa.gz" \
    --lexicon "$run-channel/lexicon.txt" --alphas "$alpha" --betas "$beta"
  read_copies "$run-channel"
fi

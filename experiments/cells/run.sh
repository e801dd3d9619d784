#!/usr/bin/env bash
# The recurrent cells compared with one budget each: the adding problem (vanishing
# gradients), AN4 speech and Copiste handwriting. Run from the repository root, after
# preparing data/an4 and data/copiste (stage 1 of recipes/an4 and recipes/copiste):
#   bash experiments/cells/run.sh                       # all tasks, all cells
#   CELLS="lstm gru" bash experiments/cells/run.sh an4  # some of them
# Every cell of a task trains first (dev error per epoch in its metrics.jsonl), then each
# is exported to int8 ONNX and timed transcribing the training part (minutes of input, so
# that start-up costs do not count; no training competes). RUN/TASK-CELL/ holds each run;
# the last step prints the tables of README.md.
set -euo pipefail
tasks=${1:-adding an4 copiste}
cells=${CELLS:-lstm lstmp gru rnn peephole cifg}
run=${RUN:-runs/cells}
threads=${THREADS:-1}
mkdir -p "$run"

# One budget for every cell: the shipped configs made smaller (2 layers of 128 units per
# direction; LSTMP projects to 64), a fixed number of epochs, no early stop.
small=(--set model.hidden=128 --set model.layers=2 --set train.patience=1000 --set train.threads="$threads")
an4=(--set train.epochs="${AN4_EPOCHS:-20}" --set train.batch_seconds=24 --set train.lr=0.002
     --set train.warmup_steps=200)
# Copiste: every third training line (1,589 of 4,765, all writers) at 32 px high (a
# quarter of the convolutions' work) with the width reduced 4 times, not 8 (as many
# frames per character as the shipped model at 64 px: 8 would leave a fifth of the lines
# too few frames for their labels); all 638 validation lines.
copiste=(--set train.epochs="${COPISTE_EPOCHS:-8}" --set image.height=32 --set model.subsample=4
         --set train.batch_width=8000
         --set train.lr=0.002 --set train.warmup_steps=100 --set train.train_manifest=data/copiste/train_third.jsonl)

cell_args() { [ "$1" = lstmp ] && echo "--set model.cell=lstmp --set model.proj=64" || echo "--set model.cell=$1"; }

compare() {  # TASK CONFIG SPEED_MANIFEST OVERRIDES...
  local task=$1 config=$2 speed=$3 cell
  shift 3
  for cell in $cells; do
    echo "== $task: train $cell"
    # shellcheck disable=SC2046
    recognize train "$config" --out "$run/$task-$cell" $(cell_args "$cell") "${small[@]}" "$@"
  done
  for cell in $cells; do
    echo "== $task: measure $cell"
    recognize export "$run/$task-$cell/best.pt" -o "$run/$task-$cell/model.onnx" --int8
    for model in best.pt model.onnx; do
      recognize evaluate "$speed" --model "$run/$task-$cell/$model" --threads 1 --json > "$run/$task-$cell/speed_$model.json"
    done
  done
}

for task in $tasks; do
  case $task in
    adding) python experiments/cells/adding.py --cells $cells --length 100 --steps 2000 --threads "$threads" \
              --json "$run/adding.json"
            # the two fastest cells again with three times the steps: does the LSTM get there?
            python experiments/cells/adding.py --cells lstm rnn --length 100 --steps 6000 --threads "$threads" \
              --json "$run/adding_longer.json" ;;
    an4) compare an4 configs/an4.yaml data/an4/train.jsonl "${an4[@]}" ;;
    copiste) awk 'NR % 3 == 1' data/copiste/train.jsonl > data/copiste/train_third.tmp  # (a run may be reading it)
             mv data/copiste/train_third.tmp data/copiste/train_third.jsonl
             compare copiste configs/copiste.yaml data/copiste/train_third.jsonl "${copiste[@]}" ;;
    *) echo "unknown task $task (adding, an4 or copiste)" >&2; exit 2 ;;
  esac
done
python experiments/cells/table.py "$run"

#!/usr/bin/env bash
# The recurrent cells compared with one budget each: the adding problem (vanishing
# gradients), AN4 speech and Copiste handwriting. Run from the repository root, after
# preparing data/an4 and data/copiste (recipes/an4, recipes/copiste stage 1):
#   bash recipes/cells/run.sh                      # all tasks, all cells
#   CELLS="lstm gru" bash recipes/cells/run.sh an4 # some of them
# Each task writes RUN/TASK-CELL/ folders; the last step prints the tables of README.md.
set -euo pipefail
tasks=${1:-adding an4 copiste}
cells=${CELLS:-lstm lstmp gru rnn peephole cifg}
run=${RUN:-runs/cells}
threads=${THREADS:-1}
mkdir -p "$run"

# One budget for every cell: the shipped configs made smaller (2 layers of 128 units per
# direction; LSTMP projects to 64) and trained for a fixed number of epochs, no early stop.
small=(--set model.hidden=128 --set model.layers=2 --set train.patience=1000 --set train.threads="$threads")
an4=(--set train.epochs="${AN4_EPOCHS:-20}" --set train.batch_seconds=24 --set train.lr=0.002 --set train.warmup_steps=200)
# Copiste: every third training line (1,589 of 4,765, all writers), all 638 validation lines.
copiste=(--set train.epochs="${COPISTE_EPOCHS:-3}" --set train.warmup_steps=100
         --set train.train_manifest=data/copiste/train_third.jsonl)

cell_args() { [ "$1" = lstmp ] && echo "--set model.cell=lstmp --set model.proj=64" || echo "--set model.cell=$1"; }

train_and_measure() {  # TASK CONFIG DEV_MANIFEST CELL EXTRA...
  local task=$1 config=$2 dev=$3 cell=$4 dir="$run/$1-$4"
  shift 4
  echo "== $task: $cell"
  # shellcheck disable=SC2046
  recognize train "$config" --out "$dir" $(cell_args "$cell") "${small[@]}" "$@"
  recognize evaluate "$dev" --model "$dir/best.pt" --threads 1 --json > "$dir/dev_torch.json"
  recognize export "$dir/best.pt" -o "$dir/model.onnx" --int8
  recognize evaluate "$dev" --model "$dir/model.onnx" --threads 1 --json > "$dir/dev_onnx.json"
}

for task in $tasks; do
  case $task in
    adding) python recipes/cells/adding.py --cells $cells --length 100 --steps 2000 --threads "$threads" \
              --json "$run/adding.json" ;;
    an4) for cell in $cells; do
           train_and_measure an4 configs/an4.yaml data/an4/dev.jsonl "$cell" "${an4[@]}"
         done ;;
    copiste) awk 'NR % 3 == 1' data/copiste/train.jsonl > data/copiste/train_third.jsonl
             for cell in $cells; do
               train_and_measure copiste configs/copiste.yaml data/copiste/val.jsonl "$cell" "${copiste[@]}"
             done ;;
    *) echo "unknown task $task (adding, an4 or copiste)" >&2; exit 2 ;;
  esac
done
python recipes/cells/table.py "$run"

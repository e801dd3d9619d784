#!/usr/bin/env bash
# Several trainings side by side on one machine (a lent GPU: 15 minutes for everything),
# each in its own run folder under $OUT, stopped when $BUDGET seconds have passed; each
# folder keeps metrics.jsonl and last.pt, so `recognize train ... --resume` carries a run
# on elsewhere. Summarized at the end with `recognize runs`.
#
#   OUT=/tmp/out BUDGET=480 bash experiments/gpu/seeds.sh configs/an4.yaml \
#       "train.seed=1 model.cell=lstm" "train.seed=2 model.cell=lstm" "train.seed=3 model.cell=lstm"
#
# Each argument after the config is one run: its --set overrides, separated by spaces;
# COMMON holds overrides for every run (data paths: experiments/gpu/pack.py packs the
# manifests and their files to carry), left out of the folders' names.
# DEVICE (default cuda) and WORKERS (data workers a run, default 2) can be set; runs use
# one CPU thread each. Epoch snapshots (epochN.pt) are removed at the end to keep $OUT
# small; best.pt and last.pt stay.
set -uo pipefail
config=$1
shift
out=${OUT:?set OUT to the folder for the run folders}
budget=${BUDGET:-480}
mkdir -p "$out"
pids=()
for i in $(seq 1 $#); do
  sets=()
  for kv in ${COMMON:-} ${!i}; do sets+=(--set "$kv"); done
  name=$(echo "${!i}" | tr ' /=' '__-')
  recognize train "$config" --out "$out/$name" --device "${DEVICE:-cuda}" --set train.threads=1 \
    --set train.num_workers="${WORKERS:-2}" "${sets[@]}" > "$out/$name.log" 2>&1 &
  pids+=($!)
done
started=$SECONDS
while [ $((SECONDS - started)) -lt "$budget" ] && kill -0 "${pids[@]}" 2>/dev/null; do
  sleep 5
done
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
wait
rm -f "$out"/*/epoch*.pt
recognize runs "$out"/*/ --last 5 | tee "$out/runs.txt"

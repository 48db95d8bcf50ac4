#!/usr/bin/env bash
# The committed example report, results/report-example/: GRU vs LSTM vs tanh RNN (`vanilla`) on
# final-bit parity, copy memory, binary addition and JSB Chorales, 3 seeds per architecture, made
# with this harness on a 2-core CPU.
#
#   bash benchmarks/report_example.sh            # about 40 minutes on 2 cores (estimate below)
#   TRIALS=8 SEEDS=3 bash benchmarks/report_example.sh    # a quicker, rougher version
#
# Budgets:
# - parity, copy, addition (each task's defaults: 10-bit final parity, copy memory with delay 10,
#   8-bit binary addition): one Optuna study per architecture at a 10,000-parameter budget
#   (`--params 10000`: the hidden size follows from it), $TRIALS trials (default 20) over learning
#   rate, gradient clipping and optimizer (+ LSTM forget-gate bias), at most 3,000 steps a trial,
#   median pruning; then the best configuration rerun with seeds 0..$SEEDS-1 (default 3).
#   Measured here: 300 steps of these 10k-parameter models take 1-2 s, so a trial is at most ~20 s.
# - JSB Chorales (../shared/data/music/JSB_Chorales.mat): the music task's recommended settings
#   (hidden 200, dropout 0.3, Adam 2e-3, patience 10 validations), not tuned, seeds 0..$SEEDS-1;
#   100-150 s a run here (results/music.md).
# Estimate: 3 tasks x 3 archs x 23 runs x ~15 s / 2 workers ~ 26 min, JSB 9 x ~130 s / 2 ~ 10 min,
# report ~1 min. Runs go to their own store ($RNNBENCH_HOME, default .bench/report-example) so that
# nothing else is counted; rerunning resumes the studies and adds seed runs only where missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export RNNBENCH_HOME="${RNNBENCH_HOME:-$PWD/.bench/report-example}"
export OMP_NUM_THREADS=1
unset MLFLOW_TRACKING_URI
TRIALS="${TRIALS:-20}"
SEEDS="${SEEDS:-3}"
ARCHS=gru,lstm,vanilla
OUT="${OUT:-results/report-example}"
JSB="$(cd ../shared/data/music && pwd)/JSB_Chorales.mat"
started=$(date +%s)

for task in parity copy addition; do
  echo "== $task: $TRIALS trials + $SEEDS seeds per architecture"
  bench sweep --task "$task" --arch "$ARCHS" --params 10000 --trials "$TRIALS" --seeds "$SEEDS" \
    --max-steps 3000 --workers 2 --no-progress --format md
done

echo "== JSB Chorales: $SEEDS seeds per architecture, two runs at a time"
have() {  # finished JSB runs of this arch and seed already in the store
  python - "$1" "$2" <<'EOF'
import sys
from bench.tracking import Tracker
t = Tracker(); e = t.client.get_experiment_by_name("music")
runs = [] if e is None else t.client.search_runs([e.experiment_id], f"tags.arch = '{sys.argv[1]}' and params.`train.seed` = '{sys.argv[2]}' and attributes.status = 'FINISHED'")
print(len(runs))
EOF
}
jobs=()
for arch in gru lstm vanilla; do
  for seed in $(seq 0 $((SEEDS - 1))); do
    if [ "$(have "$arch" "$seed")" != "0" ]; then continue; fi
    bench run --task music --arch "$arch" --opt "data=$JSB" --seed "$seed" --threads 1 --no-progress > /dev/null &
    jobs+=($!)
    if [ "${#jobs[@]}" -ge 2 ]; then wait "${jobs[0]}"; jobs=("${jobs[@]:1}"); fi
  done
done
for job in "${jobs[@]}"; do wait "$job"; done

bench report --task parity,copy,addition,music --arch "$ARCHS" --out "$OUT"
echo "done in $(( ($(date +%s) - started) / 60 )) min: $OUT/report.md"

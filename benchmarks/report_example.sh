#!/usr/bin/env bash
# The committed example report, results/report-example/: GRU vs LSTM vs tanh RNN (`vanilla`) on
# final-bit parity, copy memory, binary addition and JSB Chorales, each architecture tuned with the
# same number of Optuna trials at the same parameter budget, then rerun with 3 seeds; made with this
# harness on a 2-core CPU.
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
# - JSB Chorales (../shared/data/music/JSB_Chorales.mat): the same at a 20,000-parameter budget
#   (Chung et al. 2014's), no dropout, the music task's other recommended settings (validation every
#   30 updates, patience 10), at most 1,500 updates a trial. Every architecture is compared at an
#   equal budget after an equal tuning effort: `bench report` warns when budgets differ.
# Estimate: 3 tasks x 3 archs x 23 runs x ~15 s / 2 workers ~ 26 min, JSB 3 x 23 x ~25 s / 2 ~ 15 min,
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

echo "== JSB Chorales: $TRIALS trials + $SEEDS seeds per architecture at 20,000 parameters"
bench sweep --task music --opt "data=$JSB" --arch "$ARCHS" --params 20000 --dropout 0 --trials "$TRIALS" \
  --seeds "$SEEDS" --max-steps 1500 --workers 2 --no-progress --format md

bench report --task parity,copy,addition,music --arch "$ARCHS" --out "$OUT"
echo "done in $(( ($(date +%s) - started) / 60 )) min: $OUT/report.md"

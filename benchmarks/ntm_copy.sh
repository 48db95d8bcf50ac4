#!/usr/bin/env bash
# NTM vs LSTM on the NTM copy task at a matched parameter budget (Graves et al. 2014, qualitatively):
# train on sequences of 1-10 random 8-bit vectors, test at lengths up to 20 and 40.
# Writes results/ntm_copy.md. Budget: about 15 minutes of CPU per architecture here.
#   bash benchmarks/ntm_copy.sh [MAX_STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
export RNNBENCH_HOME="${RNNBENCH_HOME:-$(mktemp -d)}"
unset MLFLOW_TRACKING_URI
steps="${1:-4000}"
common=(--task copy --opt variant=ntm --opt length=10 --opt "eval_lengths=[20,40]" --params 62000
        --lr 3e-3 --batch-size 32 --max-steps "$steps" --eval-every 250 --eval-size 500 --no-progress)
bench run "${common[@]}" --arch ntm > /dev/null
bench run "${common[@]}" --arch lstm > /dev/null
{
  echo "# NTM vs LSTM, NTM copy task, matched parameter budget (~62k)"
  echo
  echo "Command: \`bash benchmarks/ntm_copy.sh $steps\`: \`bench run ${common[*]} --arch ARCH\`."
  echo "Machine: $(nproc) CPU cores, $(python -c 'import torch; print("torch", torch.__version__)'), $(date -u +%Y-%m-%d)."
  echo "Trained on sequence lengths uniform in 1..10; \`test/lenN\` draws lengths uniform in 11..N: only lengths"
  echo "never seen in training. Metrics: sequence accuracy and bits per sequence (lower is better)."
  echo
  bench runs --task copy --format md
} > results/ntm_copy.md
cat results/ntm_copy.md

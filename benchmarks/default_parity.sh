#!/usr/bin/env bash
# The default `bench run --task parity` for every foundation architecture and 3 seeds; writes
# results/default_parity.md. Two runs at a time (one per core). About 4 minutes on 2 cores.
#   bash benchmarks/default_parity.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export RNNBENCH_HOME="${RNNBENCH_HOME:-$(mktemp -d)}"
unset MLFLOW_TRACKING_URI
for arch in gru lstm vanilla irnn; do for seed in 0 1 2; do echo "$arch $seed"; done; done |
  xargs -P 2 -n 2 sh -c 'bench run --task parity --arch "$0" --seed "$1" --no-progress > /dev/null'
{
  echo "# Default parity run (final-bit parity of 10 bits), every foundation architecture, seeds 0-2"
  echo
  echo "Command: \`bash benchmarks/default_parity.sh\` (each run is \`bench run --task parity --arch ARCH --seed SEED\`)."
  echo "Machine: $(nproc) CPU cores, $(python -c 'import torch; print("torch", torch.__version__)'), $(date -u +%Y-%m-%d)."
  echo "Two runs in parallel, one thread each. A run stops early once validation reaches 100% sequence accuracy."
  echo
  bench runs --task parity --format md
} > results/default_parity.md
cat results/default_parity.md

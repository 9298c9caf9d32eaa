#!/usr/bin/env bash
# The torch backend on a GPU, in one go (within 5 minutes on an H100/H200):
#   1. tests/test_backends_torch.py with its computations on the device
#      (LINCLASS_TEST_DEVICE), the slow Fashion-MNIST agreement test included;
#   2. benchmarks/scale_gpu.py: Fashion-MNIST and the large probe (200,000 x 2048 float16
#      -> 1,000 classes) per epoch, the H100/H200 roofline beside each figure.
#
#   benchmarks/gpu_check.sh                 # device cuda, table -> benchmarks/GPU_CHECK.md
#   benchmarks/gpu_check.sh cpu 20000       # the CPU analogue (a small probe)
#   PYTHON=/path/to/python OUT=/tmp/x.md benchmarks/gpu_check.sh
#
# Needs the project installed with its torch extra (pip install -e ".[dev,torch]") and
# Fashion-MNIST where linclass.load_dataset finds it. Each part has its own time limit
# (tests 150 s, benchmark 140 s: TEST_LIMIT, BENCH_LIMIT), so the whole stays under 5
# minutes; a part that runs out of time fails the script (timeout's status 124).
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${1:-cuda}
PROBE_ROWS=${2:-200000}
PYTHON=${PYTHON:-python}
OUT=${OUT:-benchmarks/GPU_CHECK.md}
TEST_LIMIT=${TEST_LIMIT:-150}
BENCH_LIMIT=${BENCH_LIMIT:-140}

if [[ "$DEVICE" != cpu ]]; then
  "$PYTHON" - "$DEVICE" <<'PY'
import sys, torch
dev = torch.device(sys.argv[1])
if not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count():
    sys.exit(f"no {sys.argv[1]} here (torch {torch.__version__}, cuda available: "
             f"{torch.cuda.is_available()})")
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(dev.index or 0)}")
PY
fi

start=$SECONDS
echo "== torch-backend tests on $DEVICE"
LINCLASS_TEST_DEVICE="$DEVICE" timeout "$TEST_LIMIT" "$PYTHON" -m pytest -q -p no:randomly -x \
  tests/test_backends_torch.py
echo "== tests took $((SECONDS - start)) s"

echo "== GPU benchmark on $DEVICE"
timeout "$BENCH_LIMIT" "$PYTHON" benchmarks/scale_gpu.py --device "$DEVICE" --probe-rows "$PROBE_ROWS" \
  --out "$OUT"
echo "== done in $((SECONDS - start)) s; table in $OUT"

#!/usr/bin/env bash
# One command for whoever has an NVIDIA GPU for a few minutes: the CUDA tests, the GPU
# training table and the GPU inference table, each stage under its own time limit, all
# logs in one folder. Under 8 minutes in all on one GPU.
#
#     bash benchmarks/gpu.sh [LOG_DIR]      (default: gpu-logs/; $OUT when set, as on the device machine)
#
# It installs nothing: ganforge must already be installed (pip install -e . --no-deps).
set -uo pipefail
cd "$(dirname "$0")/.."
LOGS="${1:-${OUT:-gpu-logs}}"
mkdir -p "$LOGS"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"

stage() {  # stage NAME SECONDS COMMAND...: run COMMAND under a limit, log it, say how it ended
    local name="$1" limit="$2"
    shift 2
    local start=$SECONDS
    timeout --signal=TERM --kill-after=15 "$limit" "$@" >"$LOGS/$name.log" 2>&1
    local rc=$?
    local took=$((SECONDS - start))
    case $rc in
        0) echo "$name: ok in ${took}s" ;;
        124|137) echo "$name: stopped at its ${limit}s limit (${took}s); partial log in $LOGS/$name.log" ;;
        *) echo "$name: failed (exit $rc) in ${took}s; see $LOGS/$name.log" ;;
    esac | tee -a "$LOGS/summary.txt"
}

: >"$LOGS/summary.txt"
python - >"$LOGS/device.txt" 2>&1 <<'PY'
import torch
from ganforge.devices import describe
print("torch", torch.__version__, "cuda", torch.version.cuda)
print("devices", [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])
print("machine:", describe("cuda" if torch.cuda.is_available() else "cpu"))
PY
cat "$LOGS/device.txt"
# The tests that skip without CUDA (bf16/fp16, compile, the GPU exporters, sync-bn), then the rest of the unit tier.
stage cuda-tests 180 python -m pytest -q -x -k "cuda or gpu or bf16 or fp16 or compile or tensorrt or aoti or sync" tests
stage train-table 150 python benchmarks/train_throughput.py --gpu --device cuda
stage inference-table 120 python benchmarks/inference.py --device cuda
echo "logs: $LOGS (summary.txt, one .log per stage)"

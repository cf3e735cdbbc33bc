#!/usr/bin/env bash
# The GPU check of the CuPy backend, for a machine with a CUDA device, CuPy (cupy-cuda13x),
# PyTorch, pytest and hypothesis installed and no network. Run from the repository root:
#
#     bash benchmarks/gpu_check.sh            # everything, under 8 minutes
#     bash benchmarks/gpu_check.sh --dry-run  # the CPU parts only, to check the script anywhere
#
# Parts, each under its own time limit, in order of what is worth most when time is short:
#   1. the device: CuPy's view of it, one training step on it;
#   2. the device layer of the suite on "cuda": the op table (float32 and float64), the layer
#      table, each built-in model, save/load, the device API (CuPy compiles its kernels on
#      first use here, which the benchmarks then find cached);
#   3. training epochs (benchmarks/device_epoch.py): LeNet, the MLP and the wide CNN on the GPU
#      vs chainrule on 2 CPU threads vs PyTorch on the same GPU, with the ratios.
# The output goes to the terminal and, when $OUT is set, to $OUT/gpu_check.txt (and its key
# lines to $OUT/summary.txt).
set -u -o pipefail

PYTHON=${PYTHON:-python3}
BUDGET=${BUDGET:-470}  # seconds for the whole check
DEVICE=cuda
QUICK=()
if [[ "${1:-}" == "--dry-run" ]]; then
    DEVICE=cpu
    QUICK=(--quick --samples 1 --warmup 0 --pause 0)
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
LOG=/dev/null
if [[ -n "${OUT:-}" ]]; then
    mkdir -p "$OUT"
    LOG="$OUT/gpu_check.txt"
    : > "$LOG"
fi
START=$SECONDS
status=0

say() { echo "$@" | tee -a "$LOG"; }

# part NAME LIMIT COMMAND...: run under `timeout`, never past the whole check's budget.
part() {
    local name=$1 limit=$2
    shift 2
    local left=$((BUDGET - (SECONDS - START)))
    ((limit > left)) && limit=$left
    if ((limit < 10)); then
        say "== $name: skipped, the time budget is spent"
        status=1
        return
    fi
    say "== $name (limit ${limit}s)"
    timeout --kill-after=5 "$limit" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    if ((rc == 124 || rc == 137)); then
        say "== $name: TIMED OUT after ${limit}s"
    fi
    ((rc != 0)) && status=1
    say "== $name: exit $rc after $((SECONDS - START))s in all"
}

part "device" 60 "$PYTHON" - "$DEVICE" <<'PY'
import sys

import numpy as np

import chainrule as cr

device = sys.argv[1]
print("cr.cuda.is_available():", cr.cuda.is_available(), "devices:", cr.cuda.device_count())
if device == "cuda":
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    print("GPU:", props["name"].decode(), "| CuPy", cupy.__version__,
          "| CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
model = cr.models.build("cnn", (1, 28, 28), 10).to(device)
x = cr.tensor(np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32), device=device)
loss = cr.nn.functional.cross_entropy(model(x), cr.tensor(np.arange(8) % 10, device=device))
loss.backward()
print("one CNN step on", device, "loss", float(loss.item()), "weight on",
      model[0].weight.device)
PY

if [[ "$DEVICE" == cuda ]]; then
    SELECT=(-k cuda)
else
    SELECT=(-k "fake and (linear or add_broadcast or mlp or module_to)")
fi
part "device layer of the suite on $DEVICE" 200 "$PYTHON" -m pytest -o addopts= -q -rfE -p no:cacheprovider \
    tests/ops/test_ops_on_device.py tests/nn/test_layers_on_device.py tests/devices "${SELECT[@]}"

for net in lenet mlp wide; do
    part "epoch benchmark: $net" 150 "$PYTHON" benchmarks/device_epoch.py --device "$DEVICE" \
        --net "$net" --samples 3 --warmup 2 --cpu-threads 2 "${QUICK[@]}"
done

say "== gpu_check: $([[ $status == 0 ]] && echo ALL PARTS PASSED || echo SOME PARTS FAILED)" \
    "in $((SECONDS - START))s"
if [[ -n "${OUT:-}" ]]; then  # the lines that matter, for a quick look
    grep -E "^(== |GPU:|ratio |loss after)|^[a-z]+[-:a-z0-9]* +[0-9.]+ +\(|passed|failed" \
        "$LOG" > "$OUT/summary.txt"
fi
exit $status

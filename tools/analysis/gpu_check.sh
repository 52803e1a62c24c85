#!/usr/bin/env bash
# Everything the GPU figures need, in one call on a lent GPU machine (at most 8.5 minutes):
# install the carried wheels, build spatial-correlation-sampler and our ops for the
# device's GPU, run the GPU tests, then the benchmarks of tools/analysis/benchmark_gpu.py.
#
#   bash tools/analysis/gpu_prepare.sh          # here, once: fills .device/
#   device run: bash tools/analysis/gpu_check.sh   (carry [".device"], timeout_s 560)
#
# Logs go to $OUT (the device tool's result folder) or /tmp/gpu_check. Every stage has
# its own time limit, capped by what is left of the whole budget (GPU_CHECK_BUDGET_S,
# default 510 s), so the call ends inside the device tool's 600 s with its logs; set
# GPU_CHECK_QUICK=1 to run the tests and one benchmark pass only.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1
T0=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET_S:-510}   # whole script, under the device tool's 600 s per call
stage() { echo; echo "=== [$(( $(date +%s) - T0 )) s] $*"; }
# limit N: N seconds, or what is left of the budget if that is less (at least 1)
limit() { local left=$(( BUDGET - ($(date +%s) - T0) )); [ "$left" -lt "$1" ] && echo $(( left > 1 ? left : 1 )) || echo "$1"; }

stage "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || exit 1
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
CC=$(python3 -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")
export TORCH_CUDA_ARCH_LIST="$CC"   # build for this GPU only (compile time)

stage "install carried wheels"
[ -d .device/wheels ] || { echo "no .device/wheels: run tools/analysis/gpu_prepare.sh and carry .device"; exit 1; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .device/wheels/*.whl || exit 1
export PYTHONPATH=/tmp/site:$REPO

stage "build spatial-correlation-sampler from its sdist"
rm -rf /tmp/scs && mkdir -p /tmp/scs && tar xzf .device/sdist/spatial_correlation_sampler-*.tar.gz -C /tmp/scs
(cd /tmp/scs/spatial_correlation_sampler-* && timeout $(limit 150) python3 -m pip install -q \
   --no-index --no-deps --no-build-isolation --target /tmp/site .) \
  && python3 -c "import spatial_correlation_sampler as s; print('sampler OK', s.__file__)" \
  || echo "spatial-correlation-sampler build FAILED: its anchors are left out"

stage "build our ops"
export MMACTION_TCM_OPS_CACHE=/tmp/tcm_ops
timeout $(limit 150) python3 -m mmaction_tcm.ops.build || exit 1

stage "GPU tests"
# test_ops_cuda.py needs a GPU throughout; the other files run their cuda cases only
timeout $(limit 120) python3 -m pytest -q -rs tests/test_ops_cuda.py 2>&1 | tee "$OUT/gpu_tests.log"
timeout $(limit 120) python3 -m pytest -q -rs -k cuda tests/test_native_ops.py \
  tests/test_native_real_features.py tests/test_compile_fullgraph.py 2>&1 \
  | tee -a "$OUT/gpu_tests.log"

stage "op anchors (fp32, 2 and 8 clips)"
timeout $(limit 120) python3 tools/analysis/benchmark_gpu.py --part ops | tee "$OUT/bench_ops.md"

stage "TCM-R50 / TSM-R50, eager, fp32 / bf16 / fp16"
timeout $(limit 200) python3 tools/analysis/benchmark_gpu.py --part models \
  --precisions fp32 bf16 fp16 | tee "$OUT/bench_models_eager.md"

if [ "${GPU_CHECK_QUICK:-0}" != "1" ]; then
  stage "TCM-R50 / TSM-R50, channels_last + inductor + CUDA graphs (inference)"
  timeout $(limit 240) python3 tools/analysis/benchmark_gpu.py --part models --precisions bf16 fp32 \
    --channels-last --compile --cuda-graphs | tee "$OUT/bench_models_compiled.md"
fi
stage "done"

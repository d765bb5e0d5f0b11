#!/bin/bash
# The GPU benchmark on a CUDA machine without .NET: NetDsl's twins (a self-contained publish made by publish.sh) and the
# same nets in PyTorch (eager and torch.compile), in one go. Usage, from the repository root on the GPU machine:
#   benchmarks/gpu/device-run.sh .gpu/netdsl-bench.tar.gz OUTDIR
# Prints and writes OUTDIR/netdsl.txt, OUTDIR/torch.txt and OUTDIR/env.txt. Each part has its own time limit, so one
# failing part leaves the others' figures.
set -u
tarball=${1:-.gpu/netdsl-bench.tar.gz}
out=${2:-/tmp/netdsl-gpu-out}
mkdir -p "$out" /tmp/netdsl-bench
tar -xzf "$tarball" -C /tmp/netdsl-bench || { echo "cannot unpack $tarball"; exit 1; }
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 PYTHONUNBUFFERED=1
# ILGPU.Algorithms binds libcublas.so.12; CUDA 13 machines have .so.13 (NetDsl.Gpu's resolver reads NETDSL_CUBLAS).
cublas=$(python3 -c "import nvidia, os, glob; print(next(iter(sorted(glob.glob(os.path.join(list(nvidia.__path__)[0], '**', 'libcublas.so.1*'), recursive=True))), ''))" 2>/dev/null)
[ -z "$cublas" ] && cublas=$(ls /usr/local/cuda/lib64/libcublas.so.1* 2>/dev/null | head -1)
export NETDSL_CUBLAS=$cublas
# ILGPU loads the driver as "cuda" (dlopen libcuda.so); some driver mounts have only libcuda.so.1.
if ! ldconfig -p | grep -q 'libcuda\.so '; then
  one=$(ldconfig -p | awk '/libcuda\.so\.1 /{print $NF; exit}')
  [ -z "$one" ] && one=$(ls /usr/local/nvidia/lib64/libcuda.so.1 /usr/lib/x86_64-linux-gnu/libcuda.so.1 2>/dev/null | head -1)
  mkdir -p /tmp/cudalib && ln -sf "$one" /tmp/cudalib/libcuda.so && export LD_LIBRARY_PATH=/tmp/cudalib:${LD_LIBRARY_PATH:-}
  echo "libcuda.so -> $one (LD_LIBRARY_PATH)"
fi
{
  date -u; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,memory.total --format=csv
  echo "NETDSL_CUBLAS=$NETDSL_CUBLAS"; nproc
} 2>&1 | tee "$out/env.txt"
timeout "${NETDSL_TIME:-240}" /tmp/netdsl-bench/NetDsl.Benchmarks --device gpu --require-gpu --nets LeNet5,FashionCnn,ResNet 2>&1 | tee "$out/netdsl.txt"
echo "# netdsl exit ${PIPESTATUS[0]}" | tee -a "$out/netdsl.txt"
timeout "${TORCH_TIME:-200}" python3 benchmarks/gpu/torch_gpu_bench.py --modes "${TORCH_MODES:-eager,compile}" --compile-nets FashionCnn 2>&1 | tee "$out/torch.txt"
echo "# torch exit ${PIPESTATUS[0]}" | tee -a "$out/torch.txt"
nvidia-smi --query-gpu=clocks.sm,temperature.gpu,power.draw --format=csv | tee -a "$out/env.txt"

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
source "$(dirname "$0")/cuda-env.sh"
{
  date -u; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,memory.total --format=csv
  echo "NETDSL_CUBLAS=$NETDSL_CUBLAS"; nproc
} 2>&1 | tee "$out/env.txt"
timeout "${NETDSL_TIME:-240}" /tmp/netdsl-bench/NetDsl.Benchmarks --device gpu --require-gpu --nets LeNet5,FashionCnn,ResNet 2>&1 | tee "$out/netdsl.txt"
echo "# netdsl exit ${PIPESTATUS[0]}" | tee -a "$out/netdsl.txt"
timeout "${TORCH_TIME:-200}" python3 benchmarks/gpu/torch_gpu_bench.py --modes "${TORCH_MODES:-eager,compile}" --compile-nets FashionCnn 2>&1 | tee "$out/torch.txt"
echo "# torch exit ${PIPESTATUS[0]}" | tee -a "$out/torch.txt"
nvidia-smi --query-gpu=clocks.sm,temperature.gpu,power.draw --format=csv | tee -a "$out/env.txt"

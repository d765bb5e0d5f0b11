#!/bin/bash
# Where the device time goes, on a GPU machine (no .NET there; carry .gpu with publish.sh's tarball):
#   bash benchmarks/gpu/profile-run.sh $OUT   -> $OUT/netdsl-profile.txt (NetDsl.Benchmarks --profile: per layer and pass),
#                                                $OUT/torch-profile.txt (torch.profiler: per op), batch-256 inference and training
set -u
out=$1
mkdir -p /tmp/nb && tar -xzf .gpu/netdsl-bench.tar.gz -C /tmp/nb
source "$(dirname "$0")/cuda-env.sh"
nets=${NETS:-LeNet5,FashionCnn,ResNet}
t0=$(date +%s)
timeout 150 /tmp/nb/NetDsl.Benchmarks --device gpu --require-gpu --profile --nets $nets > $out/netdsl-profile.txt 2>&1
echo "# netdsl profile exit $? in $(( $(date +%s) - t0 )) s"
t0=$(date +%s)
timeout 120 python3 benchmarks/gpu/torch_gpu_bench.py --profile --gemm-reps 0 --nets $nets > $out/torch-profile.txt 2>&1
echo "# torch profile exit $? in $(( $(date +%s) - t0 )) s"

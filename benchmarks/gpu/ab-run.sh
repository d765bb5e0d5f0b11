#!/bin/bash
# A before/after comparison on one GPU machine in one call: the current build (publish.sh's tarball) against an older
# commit's NetDsl.Benchmarks.dll, NetDsl.Gpu.dll and NetDsl.dll in .gpu/old (the rest of the self-contained publish is the
# same), then PyTorch, both builds' per-layer profiles, and the current build again. Prepare here:
#   git worktree add /tmp/old <commit> && (cd /tmp/old && dotnet publish benchmarks/NetDsl.Benchmarks -c Release -r linux-x64 \
#     --self-contained -p:InvariantGlobalization=true -o /tmp/oldpub) && mkdir -p .gpu/old && \
#     cp /tmp/oldpub/{NetDsl.Benchmarks,NetDsl.Gpu,NetDsl}.dll .gpu/old/ && benchmarks/gpu/publish.sh
# Optionally put PTX files in .gpu/ptx to print ptxas's register counts. Then, on the device (carry .gpu):
#   bash benchmarks/gpu/ab-run.sh $OUT        -> $OUT/new1.txt, old1.txt, torch.txt, new-profile.txt, old-profile.txt, new2.txt
set -u
out=$1
for f in $(ls .gpu/ptx/*.ptx 2>/dev/null); do echo "ptxas $f $(/usr/local/cuda/bin/ptxas -arch=sm_90 -v $f -o /tmp/x.cubin 2>&1 | grep -oE 'Used [0-9]+ registers|[0-9]+ bytes spill (stores|loads)' | tr '\n' ' ')"; done
mkdir -p /tmp/nb && tar -xzf .gpu/netdsl-bench.tar.gz -C /tmp/nb && rm -rf /tmp/ob && cp -r /tmp/nb /tmp/ob && cp .gpu/old/*.dll /tmp/ob/
source "$(dirname "$0")/cuda-env.sh"
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.sm --format=csv,noheader
bench() { # name dir timeout options
  local t0=$(date +%s)
  timeout $3 /tmp/$2/NetDsl.Benchmarks --device gpu --require-gpu $4 > $out/$1.txt 2>&1
  echo "# $1 exit $? in $(( $(date +%s) - t0 )) s"
}
# The most wanted first, so a call cut short still has them: this build, the old one, PyTorch, then where each build's
# batch-256 steps spend their device time (--profile; PROFILE=0 skips it), FashionCnn's stages alone (PARTS=1), this build again.
bench new1 nb 120 "--nets LeNet5,FashionCnn,ResNet"
bench old1 ob 120 "--nets LeNet5,FashionCnn,ResNet"
t0=$(date +%s)
timeout 150 python3 benchmarks/gpu/torch_gpu_bench.py --modes eager,compile --compile-nets FashionCnn > $out/torch.txt 2>&1
echo "# torch exit $? in $(( $(date +%s) - t0 )) s"
if [ "${PROFILE:-1}" = 1 ]; then
  bench new-profile nb 90 "--profile --nets LeNet5,FashionCnn,ResNet"
  [ "${OLD_PROFILE:-1}" = 1 ] && bench old-profile ob 90 "--profile --nets LeNet5,FashionCnn,ResNet"
fi
[ "${PARTS:-0}" = 1 ] && bench parts nb 90 "--nets CnnConv1,CnnStage1,CnnPool1,CnnConv2,CnnHead"
bench new2 nb 120 "--nets LeNet5,FashionCnn,ResNet"
nvidia-smi --query-gpu=clocks.sm,temperature.gpu,power.draw --format=csv,noheader

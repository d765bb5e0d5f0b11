#!/bin/bash
# A self-contained linux-x64 publish of the benchmark for GPU machines without .NET, packed for device-run.sh:
#   benchmarks/gpu/publish.sh [.gpu/netdsl-bench.tar.gz]
# Not trimmed: ILGPU reads kernel IL (and framework methods it maps to device intrinsics) through reflection. Compressed it
# stays well under the 64 MiB a device call carries.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:-.gpu/netdsl-bench.tar.gz}
dir=$(mktemp -d)
dotnet publish benchmarks/NetDsl.Benchmarks -c Release -r linux-x64 --self-contained -p:InvariantGlobalization=true \
  -p:DebugType=none -p:GenerateDocumentationFile=false -o "$dir" >/dev/null
mkdir -p "$(dirname "$target")"
tar -czf "$target.tmp" -C "$dir" . && mv "$target.tmp" "$target"
rm -rf "$dir"
ls -l "$target"

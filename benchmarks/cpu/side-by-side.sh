#!/bin/bash
# Three rounds of the CPU peers and NetDsl side by side, then the table README's Performance section shows.
#
#   benchmarks/cpu/side-by-side.sh [BEFORE_DIR] [ROUNDS]
#
# Each round runs the peer script (ONNX Runtime, TorchSharp, Debian's PyTorch), then NetDsl's benchmark built from this
# checkout ("now") and, if BEFORE_DIR is given (the bin/Release/net10.0 folder of an older build of
# benchmarks/NetDsl.Benchmarks), that build ("before"). Output: the raw lines in $OUT (default /tmp/side-by-side.log),
# then benchmarks/cpu/summarize.py's medians at each side's best thread count, with the ratios to the peers.
# Needs the peers copied out of ../shared first: cp -r ../shared/peers /tmp/peers && chmod -R u+w /tmp/peers &&
# /tmp/peers/run.sh --quick (the first run builds ~1 GB into /tmp/peers). Run nothing else meanwhile: the machine has two vCPUs.
set -euo pipefail
cd "$(dirname "$0")/../.."
BEFORE=${1:-}
ROUNDS=${2:-3}
OUT=${OUT:-/tmp/side-by-side.log}
PEERS=${PEERS:-/tmp/peers}
[ -x "$PEERS/run.sh" ] || { echo "side-by-side: $PEERS/run.sh not found; copy ../shared/peers there first (see the header)" >&2; exit 2; }
if [ -n "$BEFORE" ] && [ ! -f "$BEFORE/NetDsl.Benchmarks.dll" ]; then
  echo "side-by-side: $BEFORE/NetDsl.Benchmarks.dll not found (BEFORE_DIR is an older build's bin/Release/net10.0)" >&2; exit 2
fi
dotnet build benchmarks/NetDsl.Benchmarks -c Release -v quiet -nologo >/dev/null
NOW=benchmarks/NetDsl.Benchmarks/bin/Release/net10.0
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824   # as the peer script
tmp="$OUT.tmp"
: > "$tmp"
for r in $(seq "$ROUNDS"); do
  echo "# round $r $(date +%T)" | tee -a "$tmp" >&2
  "$PEERS/run.sh" --quick --no-setup 2>&1 | grep -E '^peer=' | sed "s/^/round=$r /" >> "$tmp"
  if [ -n "$BEFORE" ]; then
    dotnet "$BEFORE/NetDsl.Benchmarks.dll" --quick --threads 1,2 --nets LeNet5,FashionCnn 2>&1 | grep -E '^peer=' | sed "s/^/round=$r build=before /" >> "$tmp"
  fi
  dotnet "$NOW/NetDsl.Benchmarks.dll" --quick --threads 1,2 --nets LeNet5,FashionCnn,CnnConv2 2>&1 | grep -E '^peer=' | sed "s/^/round=$r build=now /" >> "$tmp"
done
mv "$tmp" "$OUT"   # complete rounds only: a run stopped midway leaves the previous log as it was
python3 benchmarks/cpu/summarize.py "$OUT"

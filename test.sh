#!/usr/bin/env bash
# README's test command. The distributed tests start `mpiexec -n 2`, so MPICH is installed first when mpiexec is missing
# (Debian/Ubuntu: apt-get; as root, or through sudo). Arguments go to dotnet test (e.g. a --filter or a --logger).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v mpiexec >/dev/null 2>&1; then
  echo "test.sh: mpiexec not found; installing MPICH (apt-get install mpich)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "test.sh: need root or sudo to install mpich (or install it yourself: apt-get install mpich)" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mpich >/dev/null
  command -v mpiexec >/dev/null 2>&1 || { echo "test.sh: mpich installed but mpiexec is still not on PATH" >&2; exit 1; }
fi
# The ONNX export tests also run the official ONNX checker (python3-onnx) over every exported model.
if ! python3 -c "import onnx" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "test.sh: installing python3-onnx for the ONNX checker test"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-onnx >/dev/null; } \
    || echo "test.sh: could not install python3-onnx; the ONNX checker test will report itself skipped"
fi
exec dotnet test NetDsl.sln -c Release "$@"

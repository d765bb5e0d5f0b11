# Sourced by the GPU scripts (device-run.sh, ab-run.sh, profile-run.sh) on a CUDA machine without .NET: the environment
# the self-contained benchmark and ILGPU need there.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 PYTHONUNBUFFERED=1
# ILGPU.Algorithms binds libcublas.so.12; CUDA 13 machines have .so.13 (NetDsl.Gpu's resolver reads NETDSL_CUBLAS).
cublas=$(python3 -c "import nvidia, os, glob; print(next(iter(sorted(glob.glob(os.path.join(list(nvidia.__path__)[0], '**', 'libcublas.so.1*'), recursive=True))), ''))" 2>/dev/null)
[ -z "$cublas" ] && cublas=$(ls /usr/local/cuda/lib64/libcublas.so.1* 2>/dev/null | head -1)
export NETDSL_CUBLAS=$cublas
# ILGPU loads the driver as "cuda" (dlopen libcuda.so); some driver mounts have only libcuda.so.1.
if ! ldconfig -p | grep -q 'libcuda\.so '; then
  one=$(ldconfig -p | awk '/libcuda\.so\.1 /{print $NF; exit}')
  [ -z "$one" ] && one=$(ls /usr/local/nvidia/lib64/libcuda.so.1 /usr/lib/x86_64-linux-gnu/libcuda.so.1 2>/dev/null | head -1)
  if [ -n "$one" ]; then
    mkdir -p /tmp/cudalib && ln -sf "$one" /tmp/cudalib/libcuda.so && export LD_LIBRARY_PATH=/tmp/cudalib:${LD_LIBRARY_PATH:-}
    echo "libcuda.so -> $one (LD_LIBRARY_PATH)"
  fi
fi

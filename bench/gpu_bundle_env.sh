# Sourced on the GPU machine, from the repository root, after bench/gpu_bundle.sh's pieces came:
#
#   source bench/gpu_bundle_env.sh PIECES_DIR [UNPACK_DIR]     # UNPACK_DIR: /tmp/tf-gpu
#
# Checks the pieces, unpacks them once, then points PYTHONPATH (bundle + repository),
# LD_LIBRARY_PATH (bundle's CUDA 12 libraries, then the Python's own cuDNN 9 unless the bundle
# has one), PATH and XLA_FLAGS (a CUDA toolkit's ptxas and libdevice) at them and exports PYTHON
# for bench/gpu.sh. Returns non-zero, changing nothing, when the pieces are incomplete.
_tfcolor_bundle() {
  local pieces=$1 root=${2:-/tmp/tf-gpu} cudnn ptxas
  if [ ! -f "$root/BUNDLE" ]; then
    (cd "$pieces" && md5sum --quiet -c tf-gpu.md5) || { echo "bundle pieces incomplete" >&2; return 1; }
    rm -rf "$root" "$root.part" && mkdir -p "$root.part"  # renamed when whole: a cut unpack redoes
    cat "$pieces"/tf-gpu.tar.xz.* | xz -dc -T0 | tar -C "$root.part" -xf - && mv "$root.part" "$root" || return 1
  fi
  cat "$root/BUNDLE"
  if ls "$root"/lib/libcudnn.so.9 >/dev/null 2>&1; then
    cudnn=""
  else
    cudnn=$(python3 -c "import nvidia.cudnn as m, os; print(os.path.join(list(m.__path__)[0], 'lib'))" \
      2>/dev/null) || echo "no cuDNN 9 in the bundle or in python3's packages: no GPU convolutions" >&2
  fi
  export LD_LIBRARY_PATH="$root/lib${cudnn:+:$cudnn}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PYTHONPATH="$root/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
  ptxas=$(command -v ptxas || ls /usr/local/cuda*/bin/ptxas 2>/dev/null | head -1) || true
  if [ -n "$ptxas" ]; then
    export PATH="$(dirname "$ptxas"):$PATH"
    export XLA_FLAGS="--xla_gpu_cuda_data_dir=$(dirname "$(dirname "$ptxas")") ${XLA_FLAGS:-}"
  else
    echo "no ptxas: XLA falls back to the driver's compiler" >&2
  fi
  export PYTHON=python3
}
_tfcolor_bundle "$@"

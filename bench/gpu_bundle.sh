#!/usr/bin/env bash
# TensorFlow 2.21's GPU build as an offline bundle, in pieces small enough to carry one at a time
# to a GPU machine that has a CUDA driver and Python but no TensorFlow and no network:
#
#   bash bench/gpu_bundle.sh OUT_DIR [PIECE_MIB]      # here, with pip access (default 62 MiB)
#   ... copy OUT_DIR/tf-gpu.tar.xz.* to the GPU machine, then there, from the repository root:
#   source bench/gpu_bundle_env.sh PIECES_DIR && bash bench/gpu.sh
#
# What goes in, sized for the smallest carry (about 550 MB in 9 pieces of 62 MiB):
# - the tensorflow wheel without its C++ headers, Keras, and the small packages they need that
#   GPU images with PyTorch/JAX lack (optree, namex, protobuf 6, gast, astunparse, google_pasta,
#   termcolor); the target's Python must have numpy, h5py, ml_dtypes, absl-py, wrapt,
#   opt_einsum, flatbuffers, grpcio, rich, requests, packaging, scikit-image and matplotlib;
# - cuBLAS 12.5.3.2 (the oldest TF 2.21 accepts: 360 MB of wheel against 580 for 12.9) and the
#   CUDA 12.5 runtime;
# - cuDNN 9 only with CUDNN=bundle (a 577 MB wheel more): by default the target's own cuDNN 9 (the
#   nvidia-cudnn package of its Python, CUDA 12 or 13 build) is used, as cuDNN 9 keeps one ABI;
# - stand-ins for cuFFT, cuSOLVER and cuSPARSE: TensorFlow opens them when it starts and skips
#   the GPU if one is missing, but tfcolor calls none of them (no FFT, no GPU linear algebra or
#   sparse ops), so each is an empty library with the right name; an op that needed one would
#   fail with a missing symbol, not compute something else.
# XLA compiles with the target's ptxas and libdevice (any CUDA toolkit >= 12.5 found there).
#
# Environment: PY_VERSION (the target's Python, 3.12), CUDNN (image or bundle), PIP (python3 -m pip).
set -euo pipefail
OUT=${1:?usage: bash bench/gpu_bundle.sh OUT_DIR [PIECE_MIB]}
PIECE_MIB=${2:-62}
PY_VERSION=${PY_VERSION:-3.12}
PIP=${PIP:-python3 -m pip}
TAG=cp${PY_VERSION/./}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

download() {  # download DIR SPEC...: wheels for the target's Python and Linux x86-64, no deps
  local dir=$1
  shift
  $PIP download -q --no-deps --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$dir" "$@"
}

download "$WORK/wheels" tensorflow==2.21.0 keras==3.15.1 namex optree protobuf==6.33.6 termcolor gast \
  astunparse google_pasta
download "$WORK/cuda" nvidia-cublas-cu12==12.5.3.2 nvidia-cuda-runtime-cu12==12.5.82
if [ "${CUDNN:-image}" = bundle ]; then download "$WORK/cuda" nvidia-cudnn-cu12==9.3.0.75; fi

mkdir -p "$WORK/root/site" "$WORK/root/lib" "$WORK/unzip"
unzip -q -o "$WORK"/wheels/tensorflow-*.whl -d "$WORK/root/site" -x 'tensorflow/include/*'
for wheel in "$WORK"/wheels/*.whl; do
  case $wheel in */tensorflow-*) ;; *) unzip -q -o "$wheel" -d "$WORK/root/site" ;; esac
done
for wheel in "$WORK"/cuda/*.whl; do
  unzip -q -o "$wheel" 'nvidia/*/lib/*.so*' -d "$WORK/unzip"
done
mv "$WORK"/unzip/nvidia/*/lib/*.so* "$WORK/root/lib/"
echo 'int tfcolor_stand_in_library;' > "$WORK/empty.c"
for name in libcufft.so.11 libcusolver.so.11 libcusparse.so.12; do
  gcc -shared -fPIC -Wl,-soname,$name -o "$WORK/root/lib/$name" "$WORK/empty.c"
done
echo "tensorflow 2.21.0 for Python $PY_VERSION, cuBLAS 12.5.3.2, cuDNN: ${CUDNN:-image}" > "$WORK/root/BUNDLE"

mkdir -p "$OUT"
rm -f "$OUT"/tf-gpu.tar.xz.*
tar -C "$WORK/root" -cf - BUNDLE site lib | xz -6 -T0 | split -b "${PIECE_MIB}M" -d -a 2 - "$OUT/tf-gpu.tar.xz."
(cd "$OUT" && md5sum tf-gpu.tar.xz.* > tf-gpu.md5)
ls -l "$OUT"

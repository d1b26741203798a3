#!/usr/bin/env bash
# GPU benchmark in one command, from the repository root with tfcolor installed:
#
#   bash bench/gpu.sh [OUT_DIR]          # default OUT_DIR: runs/bench_gpu
#
# 1. pix2pix 256 (U-Net + 70x70 PatchGAN) train step at batch 1, 4, 16, 64 in float32,
#    mixed_float16 and mixed_bfloat16, each with and without XLA, tfcolor's step against the
#    tutorial-style step in the same process (bench_train_step);
# 2. the CIFAR setup (small U-Net 32 + PixelGAN) at batch 256, same matrix;
# 3. WGAN-GP at 256 (nested tape), batch 16;
# 4. the tf.data reader's img/s with jitter 286 -> 256 (bench_reader);
# 5. 500 steps of each objective in mixed_float16 and mixed_bfloat16: all losses finite
#    (bench_finite);
# 6. one step of each objective under MirroredStrategy on 2 logical GPUs split from one
#    equals one device (tests/distributed_parity.py);
# then table.md: every figure, peak GPU memory per variant (TensorFlow's allocator) and the
# GPU's mean utilisation per phase (nvidia-smi sampled every 250 ms).
#
# Environment: PYTHON (python), STEPS (timed steps per run, 20), REPEATS (2), BATCHES
# (1,4,16,64), QUICK=1 (a smoke run: 32 px, batch 2, 2 steps, 5 finite steps of the small U-Net), PARITY
# (objectives of phase 6, "pix2pix wgan wgan_gp"; empty skips it), PHASES (the phases to run, of
# "pix2pix256 cifar32 wgan_gp reader finite parity"; default all): a run split over several calls
# into one OUT_DIR adds to its figures and utilisation samples, and table.md covers them all.
# Everything also runs without a GPU (no nvidia-smi figures then), so the script is tested on CPU.
set -euo pipefail
OUT=${1:-runs/bench_gpu}
PY=${PYTHON:-python}
STEPS=${STEPS:-20}
REPEATS=${REPEATS:-2}
BATCHES=${BATCHES:-1,4,16,64}
PRECISIONS=float32,mixed_float16,mixed_bfloat16
ALL="pix2pix256 cifar32 wgan_gp reader finite parity"
mkdir -p "$OUT"
if [ -z "${PHASES:-}" ]; then : > "$OUT/phases.tsv"; : > "$OUT/smi.csv"; rm -f "$OUT"/*.json; fi
PHASES=${PHASES:-$ALL}
for p in $PHASES; do
  case " $ALL " in *" $p "*) ;; *) echo "PHASES: unknown phase '$p' (phases: $ALL)" >&2; exit 2 ;; esac
done
wanted() { case " $PHASES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt"
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 250 \
    >> "$OUT/smi.csv" &
  SMI=$!
  trap 'kill $SMI 2>/dev/null || true' EXIT
else
  echo "no GPU (nvidia-smi not found)" > "$OUT/gpu.txt"
fi

phase() {  # phase NAME COMMAND...: runs it (when PHASES names it), records its start and end
  local name=$1
  shift
  local group=$name
  case $name in parity_*) group=parity ;; esac
  wanted "$group" || return 0
  echo "== $name"
  local start
  start=$(date +%s.%N)
  "$@"
  printf '%s\t%s\t%s\n' "$name" "$start" "$(date +%s.%N)" >> "$OUT/phases.tsv"
}

if [ "${QUICK:-0}" = 1 ]; then  # one of each kind of phase, small: a smoke run for CPUs and CI
  phase cifar32 "$PY" -m bench.bench_train_step --size=32 --batches=2 --steps=2 --repeats=1 \
    --jit=0,1 --json_out="$OUT/cifar32.json"
  phase wgan_gp "$PY" -m bench.bench_train_step --size=32 --gan=wgan_gp --batches=2 --steps=2 --repeats=1 \
    --json_out="$OUT/wgan_gp.json"
  phase finite "$PY" -m bench.bench_finite --steps=5 --size=32 --generator=unet_small \
    --objectives=pix2pix,wgan_gp --precisions=mixed_float16 --json_out="$OUT/finite.json"
else
  phase pix2pix256 "$PY" -m bench.bench_train_step --size=256 --batches="$BATCHES" --steps="$STEPS" \
    --repeats="$REPEATS" --precisions=$PRECISIONS --jit=0,1 --json_out="$OUT/pix2pix256.json"
  phase cifar32 "$PY" -m bench.bench_train_step --size=32 --batches=256 --steps="$STEPS" \
    --repeats="$REPEATS" --precisions=$PRECISIONS --jit=0,1 --json_out="$OUT/cifar32.json"
  phase wgan_gp "$PY" -m bench.bench_train_step --size=256 --gan=wgan_gp --batches=16 --steps="$STEPS" \
    --repeats="$REPEATS" --precisions=$PRECISIONS --jit=0,1 --json_out="$OUT/wgan_gp.json"
  phase reader "$PY" -m bench.bench_reader --json_out="$OUT/reader.json"
  phase finite "$PY" -m bench.bench_finite --steps=500 --size=64 --json_out="$OUT/finite.json"
fi
for objective in ${PARITY-pix2pix wgan wgan_gp}; do  # one per process: several strategies' collectives mix
  phase "parity_$objective" sh -c "PYTHONPATH=. \"$PY\" tests/distributed_parity.py $objective > \"$OUT/parity_$objective.json\""
done

if [ -n "${SMI:-}" ]; then kill "$SMI" 2>/dev/null || true; fi
"$PY" -m bench.gpu_table "$OUT" | tee "$OUT/table.md"

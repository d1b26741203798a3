"""What the benchmarks share: the repository's root, a log line, a command run from it, a timer."""

import os
import platform
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(message):
    print(message, flush=True)


def call_seconds(fn, repeats):
    """The seconds of ``repeats`` timed calls of ``fn``, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def best_seconds(fn, repeats):
    """The fastest of ``repeats`` timed calls of ``fn`` (after a warm-up call)."""
    return min(call_seconds(fn, repeats))


def run(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(args, cwd=ROOT, env=env, text=True, capture_output=True, **kwargs)
    if result.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def cpu_model():
    """The CPU's model name (what every benchmark writes beside its figures)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"

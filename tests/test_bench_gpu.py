"""bench/gpu.sh runs on a machine without a GPU (its smoke mode) and writes table.md with every
section filled from the runs' own JSON, so the GPU session only has to run it."""

import json
import os
import re
import subprocess

import pytest

from tests import launcher
from tests.conftest import REPO


@pytest.mark.slow
def test_gpu_script_smoke_run_writes_the_table(tmp_path):
    """Split over two calls into one folder (PHASES), as on a machine lent by the call."""
    python, fork = launcher.python_shim(tmp_path)  # the script's Python commands fork from the launcher
    for phases in ("cifar32 wgan_gp", "finite"):
        env = launcher.command_env(QUICK="1", PARITY="", PYTHON=python, PHASES=phases, **fork)
        result = subprocess.run(["bash", os.path.join(REPO, "bench", "gpu.sh"), str(tmp_path)], cwd=REPO,
                                env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    table = (tmp_path / "table.md").read_text()
    assert "no GPU (nvidia-smi not found)" in table
    assert re.search(r"CPU matmul path: [1-9]", table)  # on a CPU the small maps take it
    row = r"^\| (pix2pix|wgan_gp) \| 32 \| 2 \| float32 \| (yes|no) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x"
    rows = re.findall(row, table, re.M)
    assert {(gan, xla) for gan, xla, *_ in rows} == {("pix2pix", "no"), ("pix2pix", "yes"), ("wgan_gp", "no")}
    for _, _, tutorial, tfcolor, ratio in rows:  # the ratio of the two (unrounded) rates
        tutorial, tfcolor, ratio = float(tutorial), float(tfcolor), float(ratio)
        rounding = ratio * (0.05 / tutorial + 0.05 / tfcolor) + 0.005  # rates shown to 0.1, ratio to 0.01
        assert tutorial > 0 and abs(tfcolor / tutorial - ratio) <= rounding
    assert "| pix2pix/mixed_float16 | 5 | yes |" in table and "| wgan_gp/mixed_float16 | 5 | yes |" in table
    phases = [line.split("\t")[0] for line in (tmp_path / "phases.tsv").read_text().splitlines()]
    assert phases == ["cifar32", "wgan_gp", "finite"]


def test_train_step_records_merge_into_the_json_file(tmp_path):
    from bench.bench_train_step import save_records

    def record(batch, variant, rate):
        return {"gan": "pix2pix", "size": 256, "batch": batch, "precision": "float32", "xla": False,
                "variant": variant, "best": rate}

    path = str(tmp_path / "steps.json")
    save_records(path, [record(1, "tutorial", 1.0), record(1, "tfcolor", 2.0)])
    save_records(path, [record(1, "tfcolor", 3.0), record(4, "tfcolor", 4.0)])  # a later call
    with open(path) as f:
        rates = {(r["batch"], r["variant"]): r["best"] for r in json.load(f)}
    assert rates == {(1, "tutorial"): 1.0, (1, "tfcolor"): 3.0, (4, "tfcolor"): 4.0}

"""bench/gpu.sh runs on a machine without a GPU (its smoke mode) and writes table.md with every
section filled from the runs' own JSON, so the GPU session only has to run it."""

import os
import re
import subprocess
import sys

from tests.conftest import REPO


def test_gpu_script_smoke_run_writes_the_table(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", QUICK="1", PARITY="",
               PYTHON=sys.executable)
    result = subprocess.run(["bash", os.path.join(REPO, "bench", "gpu.sh"), str(tmp_path)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
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

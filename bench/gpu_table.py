"""Markdown tables from the output folder of bench/gpu.sh: every train-step figure with its
ratio to the tutorial style and peak memory, the reader against the step, mixed-precision
finiteness, MirroredStrategy parity, and the GPU's utilisation per phase (nvidia-smi).

    python -m bench.gpu_table runs/bench_gpu
"""

import csv
import datetime
import json
import os
import sys


def _load(folder, name):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _utilisation(folder):
    """{phase: (mean GPU utilisation %, max memory used MiB)} from smi.csv and phases.tsv."""
    smi, phases = os.path.join(folder, "smi.csv"), os.path.join(folder, "phases.tsv")
    if not (os.path.exists(smi) and os.path.exists(phases)):
        return {}
    samples = []
    with open(smi) as f:
        for row in csv.reader(f):
            try:
                stamp = datetime.datetime.strptime(row[0].strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp()
                samples.append((stamp, float(row[1]), float(row[2])))
            except (ValueError, IndexError):
                continue
    result = {}
    with open(phases) as f:
        for name, start, end in (line.rstrip("\n").split("\t") for line in f if line.strip()):
            inside = [s for s in samples if float(start) <= s[0] <= float(end)]
            if inside:
                result[name] = (sum(s[1] for s in inside) / len(inside), max(s[2] for s in inside))
    return result


def step_table(records):
    lines = ["| objective | size | batch | precision | XLA | tutorial img/s | tfcolor img/s | ratio | "
             "peak MiB (tutorial / tfcolor) |", "|---|---:|---:|---|---|---:|---:|---:|---|"]
    keyed = {}
    for r in records:
        keyed.setdefault((r["gan"], r["size"], r["batch"], r["precision"], r["xla"]), {})[r["variant"]] = r
    for (gan, size, batch, precision, xla), by in keyed.items():
        tut, tfc = by.get("tutorial"), by.get("tfcolor")
        ratio = f"{tfc['best'] / tut['best']:.2f}x" if tut and tfc else ""
        peaks = " / ".join(f"{x['peak_mib']:.0f}" if x and x.get("peak_mib") is not None else "-" for x in (tut, tfc))
        lines.append(f"| {gan} | {size} | {batch} | {precision} | {'yes' if xla else 'no'} | "
                     f"{tut['best'] if tut else float('nan'):.1f} | {tfc['best'] if tfc else float('nan'):.1f} | "
                     f"{ratio} | {peaks} |")
    return lines


def main(folder):
    lines = ["# GPU benchmark", ""]
    gpu = os.path.join(folder, "gpu.txt")
    if os.path.exists(gpu):
        lines += [f"Device: {open(gpu).read().strip()}", ""]
    records = []
    for name in ("pix2pix256.json", "cifar32.json", "wgan_gp.json"):
        records += _load(folder, name) or []
    if records:
        lines += ["## Train step", ""] + step_table(records) + [""]
        devices = sorted({r["device"] for r in records})
        matmul = sorted({r.get("matmul_layers", 0) for r in records})
        lines += [f"Measured on: {', '.join(devices)}. Convolutions on tfcolor's CPU matmul path: "
                  f"{', '.join(map(str, matmul))} (0 expected with a GPU).", ""]
    reader = _load(folder, "reader.json")
    if reader:
        lines += ["## Reader", "", "| pipeline | img/s |", "|---|---:|"]
        lines += [f"| {name} | {rate:.0f} |" for name, rate in reader.items()]
        step = max((r["best"] for r in records if r["variant"] == "tfcolor" and r["size"] == 256), default=None)
        if step:
            best = max(reader.values())
            lines += ["", f"Fastest tfcolor 256 px step: {step:.1f} img/s; reader / step = {best / step:.1f}x.", ""]
    finite = _load(folder, "finite.json")
    if finite:
        lines += ["## Mixed precision", "", "| objective / precision | steps | all losses finite |", "|---|---:|---|"]
        lines += [f"| {k} | {v['steps']} | {'yes' if v['finite'] else 'no: ' + json.dumps(v['first_non_finite'])} |"
                  for k, v in finite.items()]
        lines.append("")
    parity = {}
    for name in ("pix2pix", "wgan", "wgan_gp"):
        parity.update(_load(folder, f"parity_{name}.json") or {})
    if parity:
        lines += ["## MirroredStrategy on 2 logical devices vs 1 device (one step)", "",
                  "| objective | devices | max weight difference | max update |", "|---|---|---:|---:|"]
        lines += [f"| {k} | {v.get('devices', '')} | {v['max_diff']:.2e} | {v['max_update']:.2e} |"
                  for k, v in parity.items()]
        lines.append("")
    use = _utilisation(folder)
    if use:
        lines += ["## GPU utilisation (nvidia-smi every 250 ms)", "", "| phase | mean utilisation | max memory used |",
                  "|---|---:|---:|"]
        lines += [f"| {name} | {u:.0f} % | {m:.0f} MiB |" for name, (u, m) in use.items()]
        lines.append("")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/bench_gpu")

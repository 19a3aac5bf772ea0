"""Dry-run overhead of the pre-flight check on a large synthetic sample sheet, against a named baseline.

For each size N (draws; 10 per patient): writes N small, distinct plain VCFs (panel-sized records,
about 450-1,100 bytes, so many share their size and the duplicate check must hash them) and a sample
sheet, then times `snakemake --dry-run --cores 1` (wall clock, one process, from a fresh working
directory) with
- baseline: the workflow at commit ce5d3e2 (the code before the pre-flight check: the sheet is
  validated and each file's existence checked, nothing else), extracted with `git archive`;
- cold: this checkout with an empty pre-flight cache (every file inspected, equal-size files hashed);
- warm: this checkout again, cache filled (the usual rerun or dry run: one stat per file).
It also times the check alone in one Python process (`check_draws`, cold and warm). Results go to
<out>/results.tsv and are printed as a Markdown table with the ratios to the baseline.

    python benchmarks/preflight/run_benchmark.py --draws 10000 100000 --out benchmarks/preflight/out
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BASELINE = "ce5d3e2"
PARTS = ("Snakefile", "config", "workflow", "scripts", "resources")
HEADER = ("##fileformat=VCFv4.2\n##source=Mutect2\n##contig=<ID=chr7>\n##contig=<ID=chr12>\n"
          '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n")  # fmt: skip


def write_cohort(folder: Path, draws: int) -> Path:
    """N distinct VCFs (1-8 records) and their sample sheet; reused when already written."""
    sheet = folder / "samples.tsv"
    if sheet.exists() and sum(1 for _ in open(sheet)) == draws + 1:
        return sheet
    lines = ["patient\tsample\tdate\tvcf"]
    for index in range(draws):
        patient, draw = f"P{index // 10:06d}", index % 10
        sample = f"{patient}-D{draw}"
        records = "".join(
            f"chr7\t{55181378 + 97 * k + index % 89}\t.\tC\tT\t.\tPASS\t.\tAD\t{1000 + index % 997},{k + draw}\n"
            for k in range(1 + index % 8)
        )
        name = f"vcf/{index // 10000:03d}/{sample}.vcf"  # 10,000 files per folder
        if draw == 0 and index % 10000 == 0:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(HEADER.format(sample=sample) + records)
        lines.append(f"{patient}\t{sample}\t2025-{1 + draw:02d}-01\t{name}")
    sheet.write_text("\n".join(lines) + "\n")
    return sheet


def code_tree(name: str, out: Path) -> Path:
    """This checkout ('current') or the baseline commit, as a folder with src/ and the workflow."""
    if name == "current":
        return REPO
    tree = out / f"code-{BASELINE}"
    if not (tree / "Snakefile").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", BASELINE], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def dry_run(code: Path, workdir: Path, sheet: Path, keep_cache: bool) -> float:
    if workdir.exists() and not keep_cache:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        target = workdir / part
        if not target.exists():
            (shutil.copytree if (code / part).is_dir() else shutil.copy)(code / part, target)
    env = {**os.environ, "PYTHONPATH": str(code / "src")}
    command = [sys.executable, "-m", "snakemake", "--dry-run", "--cores", "1", "--quiet", "all",
               "--config", f"samples={sheet}", "events="]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"dry run failed in {workdir}:\n{result.stderr[-3000:]}")
    return elapsed


def check_alone(sheet: Path, cache_path: Path) -> tuple[float, float, int, int]:
    code = ("import sys, time; from ctdna_monitor.inputs import load_samples; "
            "from ctdna_monitor.preflight import FactCache, check_draws; "
            f"s = load_samples({str(sheet)!r}, check_files=False); out = []\n"
            "for _ in range(2):\n"
            f"    c = FactCache({str(cache_path)!r}); t = time.perf_counter(); p = check_draws(s, 'GRCh38', cache=c)\n"
            "    out.append((time.perf_counter() - t, c.inspected, c.hashed, len(p)))\n"
            "print(out[0][0], out[1][0], out[0][1], out[0][2], out[0][3], out[1][3])")  # fmt: skip
    if cache_path.exists():
        cache_path.unlink()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})  # fmt: skip
    cold, warm, inspected, hashed, problems_cold, problems_warm = result.stdout.split()
    assert problems_cold == problems_warm == "0", result.stdout
    return float(cold), float(warm), int(inspected), int(hashed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    rows = []
    for draws in args.draws:
        sheet = write_cohort(out / f"cohort-{draws}", draws)
        baseline = dry_run(code_tree("baseline", out), out / f"run-{draws}-baseline", sheet, keep_cache=False)
        cold = dry_run(code_tree("current", out), out / f"run-{draws}-current", sheet, keep_cache=False)
        warm = dry_run(code_tree("current", out), out / f"run-{draws}-current", sheet, keep_cache=True)
        alone_cold, alone_warm, inspected, hashed = check_alone(sheet, out / f"cache-{draws}.json")
        rows.append({"draws": draws, "baseline_s": round(baseline, 2), "cold_s": round(cold, 2), "warm_s": round(warm, 2),
                     "cold_ratio": round(cold / baseline, 2), "warm_ratio": round(warm / baseline, 2),
                     "check_cold_s": round(alone_cold, 2), "check_warm_s": round(alone_warm, 2),
                     "inspected": inspected, "hashed": hashed, "load": os.getloadavg()[0]})  # fmt: skip
        print(rows[-1], flush=True)
    with open(out / "results.tsv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n{platform.node()}, {os.cpu_count()} cores; baseline = dry run at {BASELINE}\n")
    print("| draws | baseline dry run | cold cache | warm cache | cold / baseline | warm / baseline | check alone cold / warm | files hashed |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['draws']:,} | {r['baseline_s']} s | {r['cold_s']} s | {r['warm_s']} s | {r['cold_ratio']} | "
              f"{r['warm_ratio']} | {r['check_cold_s']} / {r['check_warm_s']} s | {r['hashed']:,} |")


if __name__ == "__main__":
    main()

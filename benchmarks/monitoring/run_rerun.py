"""Incremental rerun benchmark: a full run of a cohort, then one more draw, in one script.

    python benchmarks/monitoring/run_rerun.py --draws 10000 --out benchmarks/monitoring/out

Generates the scale benchmark's cohort (benchmarks/scale/generate.py: 10 draws per patient), holds back the
last draw of one patient, runs the workflow in an empty folder (default profile, --cores 2), adds the draw to the
sheet and runs again. Prints and writes `<out>/results.tsv`: wall times, the ratio rerun / full run, and the jobs
of each run per rule. Research use only.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "scale"))

PARTS = ("Snakefile", "config", "workflow", "scripts", "resources", "profiles")


def run(workdir, sheet, events) -> tuple[float, dict]:
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--config", f"samples={sheet}", f"events={events}"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit((result.stdout + result.stderr)[-3000:])
    jobs = collections.Counter(re.findall(r"^(?:local)?rule (\w+):", result.stdout + result.stderr, re.MULTILINE))
    return seconds, dict(jobs)


def main(argv=None) -> int:
    import generate  # benchmarks/scale/generate.py

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=10000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cohort = generate.generate(args.out / "cohort", args.draws)
    lines = (cohort / "samples.tsv").read_text().splitlines()
    held = max(lines[1:], key=lambda line: (line.split("\t")[0], line.split("\t")[2]))  # last draw of the last patient
    sheet = args.out / "samples.tsv"
    sheet.write_text("\n".join(line for line in lines if line != held) + "\n")
    workdir = args.out / "work"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    for part in PARTS:
        (shutil.copytree if (ROOT / part).is_dir() else shutil.copy)(ROOT / part, workdir / part)
    # the sheet's relative VCF paths are relative to the sheet: keep them pointing into the cohort
    sheet.write_text(sheet.read_text().replace("\tvcf/", f"\t{cohort}/vcf/"))
    full, full_jobs = run(workdir, sheet, cohort / "events.tsv")
    sheet.write_text(sheet.read_text() + held.replace("\tvcf/", f"\t{cohort}/vcf/") + "\n")
    rerun, rerun_jobs = run(workdir, sheet, cohort / "events.tsv")
    rows = [("draws", args.draws), ("full_run_s", f"{full:.1f}"), ("rerun_one_more_draw_s", f"{rerun:.1f}"),
            ("rerun_over_full", f"{rerun / full:.2f}"), ("full_jobs", full_jobs), ("rerun_jobs", rerun_jobs)]  # fmt: skip
    text = "\n".join(f"{name}\t{value}" for name, value in rows) + "\n"
    (args.out / "results.tsv").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

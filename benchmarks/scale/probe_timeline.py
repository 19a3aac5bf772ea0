"""The timeline step alone on a finished scale run's ingestion tables: wall time and peak memory of its process
tree, with a given number of workers, or only the background fit (and the size of the fitted model, pickled).

    python benchmarks/scale/probe_timeline.py RUN_DIR OUT_DIR --workers 2
    python benchmarks/scale/probe_timeline.py RUN_DIR OUT_DIR --fit-only

RUN_DIR is a size's folder of run_scale.py (`draws100000/`: `config.yaml`, `workflow/results/ingest/`). The memory
is that of the process and its children (forked workers), polled every 0.2 s, as proportional set size (a page
shared by a parent and its forked workers counted once) and as the sum of resident sets. Research use only.
"""

from __future__ import annotations

import argparse
import glob
import pickle
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml


def step(run_dir: Path, out: Path, workers: int, fit_only: bool) -> None:
    from ctdna_monitor import steps

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    calls = sorted(glob.glob(str(run_dir / "workflow" / "results" / "ingest" / "batch-*.tsv")))
    args = (config["samples"], calls, config["knowledgebase"], config["genome_build"], config.get("detection", {}),
            config.get("background", {}), config["guards"]["chip_genes"], [], config.get("negatives", {}),
            config.get("filters", {}))  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    if fit_only:
        inputs = steps._timeline_inputs(*args)
        print(f"fitted model, pickled: {len(pickle.dumps(inputs.model, protocol=5)) / 1e6:.0f} MB", flush=True)
        return
    outputs = tuple(out / f"{name}.tsv" for name in ("timeline", "background", "negatives"))
    steps.timeline_files(*args, outputs=outputs, workers=workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fit-only", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step(args.run_dir, args.out, args.workers, args.fit_only)
        return 0
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *sys.argv[1:], "--child"])
    root, rss, pss = psutil.Process(proc.pid), 0, 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            rss = max(rss, sum(p.memory_info().rss for p in tree))
            # forked workers share pages with their parent: the sum of resident sets counts those pages once
            # per process, the proportional set size (PSS) once in all
            pss = max(pss, sum(p.memory_full_info().pss for p in tree))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.2)
    what = "fit only" if args.fit_only else f"{args.workers} worker(s)"
    print(f"{what}: {time.perf_counter() - start:.1f} s, peak of the process tree {pss / 1e6:.0f} MB "
          f"(proportional set size; sum of resident sets {rss / 1e6:.0f} MB), exit {proc.returncode}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())

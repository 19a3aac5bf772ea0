"""Scale benchmark: the workflow end to end (report included) at 100, 1,000 and 10,000 draws, against an
ad-hoc baseline on the same files.

For each size: `generate.py` writes a cohort (10 draws per patient, panel-sized VCFs), then
- DAG build: wall time of `snakemake --dry-run` (parse, validate the sheets, build the DAG), and the
  number of jobs it plans;
- workflow: `snakemake --cores N` from an empty working directory (the default profile applies):
  wall time, peak memory (proportional set size of the whole process tree, polled every 0.2 s), jobs run;
- baseline: the minimal ad-hoc approach on the same VCFs: `bcftools query` on every VCF (as many
  at once as --cores), then pandas builds the same kind of table (per patient, every variant any of
  its draws shows, at every draw: alt reads, depth, VAF; written as TSV). No statistics, no
  background model, no knowledge base, no alerts, no report.
Results go to <out>/results.tsv and are printed as a Markdown table with the ratios.

    python benchmarks/scale/run_scale.py --draws 100 1000 10000 --cores 2 --out benchmarks/scale/out
    python benchmarks/scale/run_scale.py --dag-only 1000000 --out benchmarks/scale/out   # dry runs only
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import csv
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import dag_cohort  # noqa: E402
import generate  # noqa: E402

# bcftools query formats per caller dialect: (format, sample column or None, how to get alt/depth)
QUERY = {
    "mutect2": ("%CHROM\t%POS\t%REF\t%ALT[\t%AD]\n", "draw", "ad"),
    "vardict": ("%CHROM\t%POS\t%REF\t%ALT[\t%AD]\n", "draw", "ad"),
    "bcftools": ("%CHROM\t%POS\t%REF\t%ALT[\t%AD]\n", "draw", "ad"),
    "freebayes": ("%CHROM\t%POS\t%REF\t%ALT[\t%AO\t%DP]\n", "draw", "ao_dp"),
    "varscan2": ("%CHROM\t%POS\t%REF\t%ALT[\t%AD\t%DP]\n", "TUMOR", "ao_dp"),
    "strelka2": ("%CHROM\t%POS\t%REF\t%ALT[\t%DP\t%AU\t%CU\t%GU\t%TU]\n", "TUMOR", "tier1"),
}
COLUMNS = ["patient", "sample", "chrom", "pos", "ref", "alt", "alt_reads", "depth", "vaf"]


# --------------------------------------------------------------------------- measuring


def _memory(proc) -> int:
    """A process's proportional set size (PSS: a page shared with its parent or forked workers counts once in
    all, as build_timeline's forked workers share the fitted background), its resident set where PSS is not
    readable."""
    try:
        return proc.memory_full_info().pss
    except (psutil.AccessDenied, AttributeError):
        return proc.memory_info().rss


class PeakMemory:
    """Peak memory (MB, proportional set size) of a process and all its descendants, polled in a thread; and
    per job: the peak of each Snakemake job process (a `python .snakemake/scripts/tmp….<script>.py` with its
    children), the largest over the jobs of one script in `job_peak_mb`."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every, self.peak_mb = pid, every, 0.0
        self.job_peak_mb: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _poll(self):
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += _memory(proc)
                    except psutil.NoSuchProcess:
                        pass
                self._per_job(root)
            except psutil.NoSuchProcess:
                return
            self.peak_mb = max(self.peak_mb, total / 1e6)
            self._stop.wait(self.every)

    def _per_job(self, root):
        for proc in root.children(recursive=True):
            try:
                script = next((part for part in proc.cmdline() if "/.snakemake/scripts/" in part or
                               part.startswith(".snakemake/scripts/")), None)  # fmt: skip
                if script is None:
                    continue
                rss = _memory(proc) + sum(_memory(child) for child in proc.children(recursive=True))
            except psutil.Error:
                continue
            name = Path(script).name.split(".", 1)[-1].removesuffix(".py")  # tmpab12cd.build_timeline.py
            self.job_peak_mb[name] = max(self.job_peak_mb.get(name, 0.0), rss / 1e6)


def measured(command, cwd=None, log=None) -> dict:
    """Run a command; wall seconds, peak MB of its process tree, exit code and output."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with PeakMemory(process.pid) as memory:
        output, _ = process.communicate()
    seconds = time.perf_counter() - start
    if log:
        Path(log).write_text(output)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed ({process.returncode}):\n{output[-3000:]}")
    return {"seconds": seconds, "peak_mb": memory.peak_mb, "job_peak_mb": memory.job_peak_mb, "output": output}


# --------------------------------------------------------------------------- the workflow


def write_config(cohort: Path, path: Path) -> Path:
    config = copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    config.update(
        samples=str((cohort / "samples.tsv").resolve()),
        events=str((cohort / "events.tsv").resolve()),
        knowledgebase=str(REPO / "resources" / "resistance_mutations.tsv"),
        drugs=str(REPO / "resources" / "drugs.tsv"),
        oncotree=str(REPO / "resources" / "oncotree.tsv"),
    )
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake_command(run_dir: Path, configfile: Path, cores: int, *extra) -> list:
    return [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(run_dir),
        "--cores", str(cores), "--configfile", str(configfile), *extra,
    ]  # fmt: skip


STAMP = r"\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]"


def step_seconds(log: str) -> dict:
    """Wall seconds of each rule's jobs (summed over its jobs) from the Snakemake log's time stamps."""
    fmt = "%a %b %d %H:%M:%S %Y"
    started = {}
    for stamp, rule, job in re.findall(STAMP + r"\n(?:local)?rule (\w+):\n(?:.*\n)*?\s+jobid: (\d+)", log):
        started[job] = (rule, time.mktime(time.strptime(stamp, fmt)))
    totals = {}
    for stamp, job, rule in re.findall(STAMP + r"\nFinished jobid: (\d+) \(Rule: (\w+)\)", log):
        if job in started and rule != "all":
            totals[rule] = totals.get(rule, 0.0) + time.mktime(time.strptime(stamp, fmt)) - started[job][1]
    return totals


def run_workflow(cohort: Path, work: Path, cores: int) -> dict:
    run_dir = work / "workflow"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    configfile = write_config(cohort, work / "config.yaml")
    dry = measured(snakemake_command(run_dir, configfile, cores, "--dry-run"), log=work / "dry_run.log")
    planned = re.search(r"^total\s+(\d+)", dry["output"], re.M)
    full = measured(snakemake_command(run_dir, configfile, cores), log=work / "workflow.log")
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", full["output"])
    # one file up to report_single_file_max_patients (1,000), else the folder report
    report = run_dir / "results" / "report.html"
    assert (report if report.exists() else run_dir / "results" / "report" / "index.html").stat().st_size > 0
    return {
        "dag_seconds": dry["seconds"],
        "jobs": int(done[-1][1]) if done else int(planned.group(1)) if planned else -1,
        "workflow_seconds": full["seconds"],
        "workflow_peak_mb": full["peak_mb"],
        "largest_job_peak_mb": max(full["job_peak_mb"].values(), default=0.0),
        **{f"{script}_peak_mb": round(mb) for script, mb in sorted(full["job_peak_mb"].items())},
        "timeline_rows": sum(1 for _ in open(run_dir / "results" / "timeline.tsv")) - 1,
        **{f"{rule}_seconds": seconds for rule, seconds in step_seconds(full["output"]).items()},
    }


# --------------------------------------------------------------------------- the ad-hoc baseline


def query_one(vcf: Path, dialect: str, draw: str) -> pd.DataFrame:
    fmt, sample, kind = QUERY[dialect]
    sample = draw if sample == "draw" else sample
    out = subprocess.run(["bcftools", "query", "-s", sample, "-f", fmt, str(vcf)], capture_output=True, text=True, check=True)
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS[1:])
    table = table.rename(columns={0: "chrom", 1: "pos", 2: "ref", 3: "alt"})
    if kind == "ad":
        counts = table[4].str.split(",", expand=True).astype(int)
        table["alt_reads"], table["depth"] = counts[1], counts[0] + counts[1]
    elif kind == "ao_dp":
        table["alt_reads"], table["depth"] = table[4].astype(int), table[5].astype(int)
    else:  # strelka2 tier-1 counts per base: "used,filtered" for A, C, G, T
        bases = {b: table[5 + i].str.split(",").str[0].astype(int) for i, b in enumerate("ACGT")}
        table["alt_reads"] = [int(bases[a].iloc[i]) for i, a in enumerate(table["alt"])]
        table["depth"] = table[4].astype(int)
    table["vaf"] = table["alt_reads"] / table["depth"].where(table["depth"] > 0)
    table["sample"] = draw
    return table[COLUMNS[1:]]


def baseline(cohort: Path, out: Path, cores: int) -> None:
    samples = pd.read_csv(cohort / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    dialect = dict(pd.read_csv(cohort / "truth.tsv", sep="\t", dtype=str)[["patient", "dialect"]].itertuples(index=False))
    jobs = [(cohort / row.vcf, dialect[row.patient], row.sample) for row in samples.itertuples(index=False)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=cores) as pool:
        tables = list(pool.map(lambda job: query_one(*job), jobs))
    calls = pd.concat(tables, ignore_index=True)
    calls["pos"] = calls["pos"].astype(int)
    calls = calls.merge(samples[["patient", "sample", "date"]], on="sample")
    # Per patient: every variant any draw shows (alt reads > 0), at every draw of the patient.
    key = ["chrom", "pos", "ref", "alt"]
    variants = calls.loc[calls["alt_reads"] > 0, ["patient", *key]].drop_duplicates()
    grid = variants.merge(samples[["patient", "sample", "date"]], on="patient")
    table = grid.merge(calls.drop(columns=["patient", "date"]), on=["sample", *key], how="left")
    table = table.sort_values(["patient", *key, "date", "sample"])
    table.to_csv(out, sep="\t", index=False)


def run_baseline(cohort: Path, work: Path, cores: int) -> dict:
    out = work / "baseline.tsv"
    result = measured([sys.executable, __file__, "--baseline-only", str(cohort), str(out), "--cores", str(cores)])
    return {"baseline_seconds": result["seconds"], "baseline_peak_mb": result["peak_mb"],
            "baseline_rows": sum(1 for _ in open(out)) - 1}  # fmt: skip


# --------------------------------------------------------------------------- main


def markdown(rows: list[dict]) -> str:
    lines = [
        "| draws | patients | jobs | DAG build (s) | workflow (s) | peak MB | largest job peak MB | baseline (s) | baseline peak MB | workflow / baseline | time vs previous size |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    previous = None
    for row in rows:
        step = f"{row['workflow_seconds'] / previous:.2f}x" if previous else ""
        lines.append(
            f"| {row['draws']:,} | {row['patients']:,} | {row['jobs']} | {row['dag_seconds']:.1f} | "
            f"{row['workflow_seconds']:.0f} | {row['workflow_peak_mb']:.0f} | {row.get('largest_job_peak_mb', 0):.0f} | "
            f"{row['baseline_seconds']:.0f} | "
            f"{row['baseline_peak_mb']:.0f} | {row['workflow_seconds'] / row['baseline_seconds']:.2f} | {step} |"
        )
        previous = row["workflow_seconds"]
    return "\n".join(lines)


def dag_only(draws: int, out: Path, cores: int) -> dict:
    """Dry runs of `draws` draws (dag_cohort.py): the first with an empty pre-flight cache (every VCF's header
    read), the second as a rerun sees it; jobs planned and the resources requested per rule."""
    work = out / f"dag{draws}"
    cohort = work / "cohort"
    if not (cohort / "samples.tsv").exists():
        dag_cohort.dag_cohort(cohort, draws)
    run_dir = work / "workflow"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    configfile = write_config(cohort, work / "config.yaml")
    config = yaml.safe_load(configfile.read_text())
    config["events"] = ""
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    command = snakemake_command(run_dir, configfile, cores, "--dry-run")
    cold = measured(command, log=work / "dry_run_cold.log")
    warm = measured(command, log=work / "dry_run_warm.log")
    planned = re.search(r"^total\s+(\d+)", warm["output"], re.M)
    requests: dict[str, set] = {}
    # one block per planned job; a request computed from files that do not exist yet shows as <TBD>
    for block in re.split(r"\n(?=\s*(?:local)?rule \w+:\n)", warm["output"]):
        rule = re.match(r"\s*(?:local)?rule (\w+):", block)
        asked = re.search(r"^\s+resources: .*?mem_mb=(\d+|<TBD>).*?runtime=(\d+|<TBD>)", block, re.M)
        if rule and asked:
            requests.setdefault(rule.group(1), set()).add(asked.groups())
    return {
        "draws": draws,
        "jobs": int(planned.group(1)) if planned else -1,
        "dag_seconds_cold_cache": round(cold["seconds"], 1),
        "dag_seconds": round(warm["seconds"], 1),
        "dag_peak_mb": round(warm["peak_mb"]),
        "requests": "; ".join(f"{rule}: {_span(got)}" for rule, got in sorted(requests.items())),
    }


def _span(requests: set) -> str:
    """'mem_mb A-B, runtime C-D min' over a rule's jobs ('when its inputs exist' where not known yet)."""
    known = [(int(m), int(r)) for m, r in requests if m.isdigit() and r.isdigit()]
    if not known:
        return "sized when its inputs exist"
    mems, runtimes = [m for m, _ in known], [r for _, r in known]
    return f"mem_mb {min(mems)}-{max(mems)}, runtime {min(runtimes)}-{max(runtimes)} min"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--dag-only", type=int, metavar="DRAWS",
                        help="only dry runs (DAG build) of this many draws with small VCFs (dag_cohort.py)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--baseline-only", nargs=2, metavar=("COHORT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_only:
        baseline(Path(args.baseline_only[0]), Path(args.baseline_only[1]), args.cores)
        return 0
    if args.dag_only:
        row = dag_only(args.dag_only, args.out, args.cores)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"dag{args.dag_only}.tsv").write_text("\n".join(f"{k}\t{v}" for k, v in row.items()) + "\n")
        print("\n".join(f"{k}: {v}" for k, v in row.items()))
        return 0
    rows = []
    for draws in args.draws:
        work = args.out / f"draws{draws}"
        cohort = work / "cohort"
        if not (cohort / "samples.tsv").exists():
            generate.generate(cohort, draws)
        patients = len(set(pd.read_csv(cohort / "samples.tsv", sep="\t", usecols=["patient"])["patient"]))
        row = {"draws": draws, "patients": patients, **run_baseline(cohort, work, args.cores)}
        row.update(run_workflow(cohort, work, args.cores))
        rows.append(row)
        print(f"{draws} draws: workflow {row['workflow_seconds']:.0f} s, baseline {row['baseline_seconds']:.0f} s",
              file=sys.stderr, flush=True)  # fmt: skip
        write_results(args.out, rows, args.cores)
    print(markdown(rows))
    return 0


def write_results(out: Path, rows: list[dict], cores: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.tsv", "w", newline="") as handle:
        fields = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(handle, fieldnames=fields, delimiter="\t", lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(rows)
    load = os.getloadavg()
    (out / "results.md").write_text(
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}: {os.cpu_count()} CPUs, --cores {cores}, "
        f"load average at the end {load[0]:.1f} (what else ran is not known to this script).\n\n{markdown(rows)}\n\n{steps_markdown(rows)}\n"
    )


def steps_markdown(rows: list[dict]) -> str:
    """Seconds per workflow step (jobs of a step summed; ingestion jobs run two at a time on 2 cores)."""
    rules = ["ingest_batch", "build_timeline", "call_alerts", "render_report", "render_patient_pages"]
    lines = ["| draws | " + " | ".join(f"{r} (s; peak MB of its largest job)" for r in rules) + " |",
             "|---" * (len(rules) + 1) + "|"]  # fmt: skip
    for row in rows:
        cells = [(f"{row[f'{r}_seconds']:.0f}" if f"{r}_seconds" in row else "") +
                 (f"; {float(row[f'{r}_peak_mb']):.0f}" if f"{r}_peak_mb" in row else "") for r in rules]  # fmt: skip
        lines.append(f"| {row['draws']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

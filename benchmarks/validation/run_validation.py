"""Validation benchmark: simulate cohorts with ground truth, run the workflow for real, score the alerts.

For each seed: `ctdna_monitor.simulate.simulate_cohort` writes out/seed{N}/cohort; the workflow runs
twice with Snakemake, "model" (the shipped config, paths made absolute) and "oracle" (the same plus
`background.table` = the simulator's true per-site error rates and dispersion). The alerts of all
seeds are pooled and scored by `metrics.py` (definitions there). Research use only.

    python benchmarks/validation/run_validation.py --seeds 1 2 3 4 --patients 60 --cores 2 \
        --out benchmarks/validation/out
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import importlib
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from ctdna_monitor.simulate import simulate_cohort

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

metrics = importlib.import_module("metrics")  # benchmarks/validation/metrics.py, found through sys.path

KB = REPO / "resources" / "resistance_mutations.tsv"
DRUGS = REPO / "resources" / "drugs.tsv"
TRUNCAL = REPO / "resources" / "demo" / "truncal_variants.tsv"
RUNS = ("model", "oracle")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--patients", type=int, default=60, help="patients per seed")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--no-oracle", action="store_true", help="skip the oracle run (no background.table key yet)")
    parser.add_argument("--score-only", action="store_true", help="re-score existing runs under --out, run nothing")
    parser.add_argument("--kb", type=Path, default=KB, help="knowledge base for the simulator and the workflow")
    parser.add_argument("--drugs", type=Path, default=DRUGS, help="drug table for the workflow")
    parser.add_argument(
        "--settings", nargs="+", default=["all"],
        help="simulated drug settings: 'all' (the catalogue of SCENARIOS.md), 'legacy' (the six original ones) or names",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.kb, args.drugs = args.kb.resolve(), args.drugs.resolve()
    args.settings = args.settings[0] if args.settings in (["all"], ["legacy"]) else args.settings
    return args


def base_config() -> dict:
    """The shipped config/config.yaml (the defaults), or {} if it is missing."""
    path = REPO / "config" / "config.yaml"
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def _absolute_paths(value):
    """Relative paths of the shipped config that name a project file, made absolute (the runs use another directory)."""
    if isinstance(value, dict):
        return {key: _absolute_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_absolute_paths(item) for item in value]
    if isinstance(value, str) and value and not Path(value).is_absolute() and (REPO / value).is_file():
        return str(REPO / value)
    return value


def write_config(cohort: Path, path: Path, oracle: bool, kb: Path = KB, drugs: Path = DRUGS) -> Path:
    config = _absolute_paths(copy.deepcopy(base_config()))
    config.update(
        samples=str((cohort / "samples.tsv").resolve()),
        events=str((cohort / "events.tsv").resolve()),
        knowledgebase=str(kb),
        drugs=str(drugs),
    )
    if oracle:
        config.setdefault("background", {})
        config["background"] = {**(config["background"] or {}), "table": str((cohort / "true_background.tsv").resolve())}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_workflow(run_dir: Path, configfile: Path, cores: int) -> float:
    """Run the workflow in `run_dir`; returns the wall time in seconds. Raises with the log tail on failure."""
    command = [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(run_dir),
        "--cores", str(cores), "--configfile", str(configfile),
    ]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    (run_dir / "snakemake.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise RuntimeError(f"workflow failed in {run_dir} (exit {result.returncode}):\n{tail}")
    return seconds


def run_seed(seed: int, args) -> list[dict]:
    """Simulate one cohort and run the workflow on it; returns one record per run."""
    seed_dir = args.out / f"seed{seed}"
    if seed_dir.exists():
        shutil.rmtree(seed_dir)
    start = time.perf_counter()
    cohort = simulate_cohort(seed_dir / "cohort", args.patients, seed, args.kb, TRUNCAL, args.settings, args.drugs)
    records = [{"seed": seed, "run": "simulate", "seconds": time.perf_counter() - start}]
    for run in RUNS:
        if run == "oracle" and args.no_oracle:
            continue
        run_dir = seed_dir / run
        run_dir.mkdir(parents=True)
        configfile = write_config(cohort, seed_dir / f"{run}.yaml", run == "oracle", args.kb, args.drugs)
        seconds = run_workflow(run_dir, configfile, args.cores)
        records.append({"seed": seed, "run": run, "seconds": seconds})
        print(f"seed {seed} {run}: {seconds:.1f} s", file=sys.stderr)
    return records


def strong_p(configfile: Path) -> float:
    config = yaml.safe_load(configfile.read_text()) if configfile.exists() else {}
    return float(((config or {}).get("alerts") or {}).get("strong_detection_p", 1e-6))


def load_run(args, seeds, run: str):
    """Pooled alerts of one run over the seeds (and their confirmed-only view), or (None, None)."""
    alerts, confirmed = [], []
    for seed in seeds:
        results = args.out / f"seed{seed}" / run / "results"
        if not (results / "alerts.tsv").exists():
            return None, None
        table = metrics.read_alerts(results / "alerts.tsv")
        alerts.append(table)
        if metrics.has_confirmed(table):
            timeline = metrics.read_timeline(results / "timeline.tsv")
            confirmed.append(metrics.confirmed_view(table, timeline, strong_p(args.out / f"seed{seed}" / f"{run}.yaml")))
    pooled = pd.concat(alerts, ignore_index=True)
    return pooled, (pd.concat(confirmed, ignore_index=True) if len(confirmed) == len(alerts) else None)


def cohort_summary(args, seeds) -> list[dict]:
    rows = []
    for seed in seeds:
        cohort = args.out / f"seed{seed}" / "cohort"
        truth = pd.read_csv(cohort / "truth.tsv", sep="\t", keep_default_na=False)
        draws = len(pd.read_csv(cohort / "samples.tsv", sep="\t"))
        rows.append({"seed": seed, "patients": len(truth), "draws": draws,
                     **truth.scenario.value_counts().sort_index().to_dict()})  # fmt: skip
    return rows


def settings_summary(args, seeds) -> str:
    """Which catalogue settings ran (from the cohorts' settings.tsv), with their regimens, sites and notes."""
    path = args.out / f"seed{seeds[0]}" / "cohort" / "settings.tsv"
    if not path.exists():
        return "(no settings.tsv: cohorts from an earlier simulator)"
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    lines = ["| setting | arm | cancer type | regimens | sites watched | status | note |", "|---|---|---|---|---|---|---|"]
    for row in table.itertuples(index=False):
        sites = row.resistance_sites.split(";") if row.resistance_sites else []
        lines.append(f"| {row.setting} | {row.arm} | {row.cancer_type} | {row.regimens or '–'} | {len(sites)} | {row.status} | {row.message} |")
    return "\n".join(lines)


def score(args, seeds) -> list[dict]:
    truth = pd.concat([metrics.read_truth(args.out / f"seed{s}" / "cohort" / "truth.tsv") for s in seeds], ignore_index=True)
    model, model_confirmed = load_run(args, seeds, "model")
    if model is None:
        raise SystemExit(f"no model results under {args.out}; run without --score-only first")
    oracle, oracle_confirmed = (None, None) if args.no_oracle else load_run(args, seeds, "oracle")
    return metrics.summarise(truth, model, oracle, model_confirmed, oracle_confirmed)


def timing_rows(records: list[dict]) -> list[dict]:
    rows = [metrics.metric(f"wall_time_s.seed{r['seed']}.{r['run']}", round(r["seconds"], 1), n=1) for r in records]
    for run in ("simulate", *RUNS):
        total = [r["seconds"] for r in records if r["run"] == run]
        if total:
            rows.append(metrics.metric(f"wall_time_s.total.{run}", round(sum(total), 1), n=len(total)))
    return rows


def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' (working tree modified)' if dirty else ''}"


def report(rows: list[dict], cohorts: list[dict], command: str, args) -> str:
    frame = pd.DataFrame(cohorts).fillna(0)
    lines = [
        "# ctdna-monitor validation benchmark (simulated cohorts; research use only)",
        "",
        f"Command: `{command}`",
        "",
        (
            f"Code: {git_state()}; run {dt.datetime.now().isoformat(timespec='seconds')}; "
            f"oracle run: {'no' if args.no_oracle else 'yes'}. Definitions: `benchmarks/validation/metrics.py`."
        ),
        "",
        "## Cohorts",
        "",
        frame.to_markdown(index=False) if hasattr(frame, "to_markdown") and _has_tabulate() else frame.to_string(index=False),
        "",
        "## Settings",
        "",
        settings_summary(args, args.seeds),
        "",
        "## Per setting, arm and annotation (pooled over seeds; 95% Wilson CI; successes/n)",
        "",
        metrics.group_table(rows, "setting"),
        "",
        metrics.group_table(rows, "arm"),
        "",
        metrics.group_table(rows, "annotation"),
        "",
        "## Metrics (pooled over seeds; 95% CI: Wilson for proportions, percentile bootstrap for medians/ratio)",
        "",
        metrics.markdown_table(rows),
        "",
    ]
    return "\n".join(lines)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> int:
    args = parse_args(argv)
    args.out = args.out.resolve()
    command = shlex.join(["python", *[str(a) for a in (sys.argv if argv is None else ["benchmarks/validation/run_validation.py", *argv])]])
    timings = args.out / "timings.tsv"
    if args.score_only:
        records = pd.read_csv(timings, sep="\t").to_dict("records") if timings.exists() else []
    else:
        records = []
        for seed in args.seeds:
            records += run_seed(seed, args)
        args.out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(records, columns=["seed", "run", "seconds"]).to_csv(timings, sep="\t", index=False)
    rows = score(args, args.seeds) + timing_rows(records)
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["metric", "value", "ci_low", "ci_high", "n"]).to_csv(
        args.out / "validation.tsv", sep="\t", index=False, na_rep="", float_format="%.6g"
    )
    text = report(rows, cohort_summary(args, args.seeds), command, args)
    (args.out / "validation.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

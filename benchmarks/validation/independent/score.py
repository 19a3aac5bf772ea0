#!/usr/bin/env python3
"""Run the workflow on independent cohorts (generate.py) and score it against truth and an oracle.

    python score.py --cohorts OUT --seeds 1001 --work RUNS --report REPORT [--scenarios ...] [--no-oracle]
    python score.py --cohorts OUT --seeds 1001 --work RUNS --report REPORT --calibration [bursts ...]

Each cohort runs twice: *model* (the shipped config/config.yaml with samples, events, knowledgebase, drugs and
oncotree pointed at the cohort / repository) and *oracle* (the same plus background.table = the cohort's
oracle_background.tsv, which carries the true error of every site in every draw in its `sample` column).
Scores come from results/alerts.tsv and results/timeline.tsv only. Definitions: CATALOGUE.md and README.md.
Uses numpy and pandas only (plus the workflow itself through `python3 -m snakemake`).
"""
from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
RES_TYPES = {"pre_existing", "emergence", "rising"}
FIRST_TYPES = {"pre_existing", "emergence"}
ALPHA = 0.01


# ----------------------------------------------------------------------------------------------- statistics
def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float, float]:
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p = k / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (p, max(0.0, c - h), min(1.0, c + h))


def boot_ratio(model: np.ndarray, oracle: np.ndarray, n_boot=2000, seed=11) -> tuple[float, float, float]:
    if len(model) == 0:
        return (math.nan, math.nan, math.nan)
    om = np.median(oracle)
    point = np.median(model) / om if om else math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(model), size=(n_boot, len(model)))
    mm, oo = np.median(model[idx], axis=1), np.median(oracle[idx], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(oo > 0, mm / oo, np.nan)
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return (point, math.nan, math.nan)
    return (point, float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5)))


def fmt_p(t):
    p, lo, hi = t
    return "–" if math.isnan(p) else f"{p:.3f} ({lo:.3f}–{hi:.3f})"


# ----------------------------------------------------------------------------------------------- running
def make_config(repo: Path, cohort: Path, rundir: Path, oracle: bool) -> Path:
    """The shipped config with input paths replaced (text substitution keeps every other key as shipped)."""
    text = (repo / "config" / "config.yaml").read_text()
    subs = {
        "samples": cohort / "samples.tsv",
        "events": cohort / "events.tsv",
        "knowledgebase": repo / "resources" / "resistance_mutations.tsv",
        "drugs": repo / "resources" / "drugs.tsv",
        "oncotree": repo / "resources" / "oncotree.tsv",
    }
    for key, val in subs.items():
        text, n = re.subn(rf"(?m)^{key}:.*$", f'{key}: "{val.resolve()}"', text)
        if n != 1:
            raise SystemExit(f"config.yaml: top-level key {key!r} not found exactly once")
    if oracle:
        text, n = re.subn(r'(?m)^(\s+)table:.*$', rf'\1table: "{(cohort / "oracle_background.tsv").resolve()}"',
                          text, count=1)
        if n != 1:
            raise SystemExit("config.yaml: background.table not found")
    rundir.mkdir(parents=True, exist_ok=True)
    cfg = rundir / "config.yaml"
    cfg.write_text(text)
    return cfg


def run_workflow(repo: Path, cohort: Path, rundir: Path, oracle: bool, cores: int, force: bool) -> tuple[bool, float]:
    done = rundir / "results" / "alerts.tsv"
    if done.exists() and (rundir / "results" / "timeline.tsv").exists() and not force:
        return True, 0.0
    cfg = make_config(repo, cohort, rundir, oracle)
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--directory", str(rundir.resolve()),
           "--snakefile", str((repo / "Snakefile").resolve()), "--configfile", str(cfg.resolve())]
    if force:
        cmd.append("--forceall")
    t0 = time.time()
    with open(rundir / "snakemake.log", "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=rundir).returncode
    return rc == 0 and done.exists(), time.time() - t0


def read_tsv(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def site_code(df: pd.DataFrame) -> pd.Series:
    return df["chrom"] + ":" + df["pos"].astype(str) + ":" + df["ref"] + ">" + df["alt"]


# ----------------------------------------------------------------------------------------------- scoring
def first_alerts(alerts: pd.DataFrame) -> dict:
    """(patient, site) -> (first date of a pre_existing/emergence alert, type, sample)."""
    out = {}
    if alerts.empty:
        return out
    a = alerts[alerts["type"].isin(FIRST_TYPES)].copy()
    a["site"] = site_code(a)
    for r in a.sort_values("date").itertuples():
        out.setdefault((r.patient, r.site), (pd.Timestamp(r.date), r.type, r.sample))
    return out


def wrong_alerts(alerts: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    if alerts.empty:
        return alerts
    a = alerts[alerts["type"].isin(RES_TYPES)].copy()
    a["site"] = site_code(a)
    res = {r.patient: set(filter(None, r.resistance_sites.split(";"))) for r in truth.itertuples()}
    return a[[s not in res.get(p, set()) for p, s in zip(a["patient"], a["site"])]]


def score_cohort(truth: pd.DataFrame, model_alerts: pd.DataFrame, oracle_alerts: pd.DataFrame | None) -> pd.DataFrame:
    fm = first_alerts(model_alerts)
    fo = first_alerts(oracle_alerts) if oracle_alerts is not None else {}
    wm = wrong_alerts(model_alerts, truth)
    wo = wrong_alerts(oracle_alerts, truth) if oracle_alerts is not None else pd.DataFrame()
    rows = []
    for t in truth.itertuples():
        sites = [s for s in t.resistance_sites.split(";") if s]
        pdd = pd.Timestamp(t.pd_date) if t.pd_date else None
        row = dict(patient=t.patient, scenario=t.scenario, archetype=t.archetype, drug=t.drug,
                   file_mode=t.file_mode, n_resistance_sites=len(sites), pre_existing=t.pre_existing,
                   pd_date=t.pd_date)

        def best(first, patient=t.patient, sites=sites):
            hits = [first[(patient, s)] for s in sites if (patient, s) in first]
            return min(hits) if hits else None

        bm, bo = best(fm), best(fo) if oracle_alerts is not None else None
        row["model_first_alert"] = bm[0].date().isoformat() if bm else ""
        row["oracle_first_alert"] = bo[0].date().isoformat() if bo else ""
        row["model_before_pd"] = bool(bm and pdd is not None and bm[0] < pdd)
        row["oracle_before_pd"] = bool(bo and pdd is not None and bo[0] < pdd)
        row["model_lead_days"] = (pdd - bm[0]).days if row["model_before_pd"] else ""
        row["oracle_lead_days"] = (pdd - bo[0]).days if row["oracle_before_pd"] else ""
        # pre-existing at the first draw of therapy (the generator's first draw is the baseline draw)
        pm = [s for s in sites if fm.get((t.patient, s), (None, "", ""))[1:] == ("pre_existing", t.first_draw)]
        po = [s for s in sites if fo.get((t.patient, s), (None, "", ""))[1:] == ("pre_existing", t.first_draw)]
        row["model_pre_existing_at_first_draw"] = bool(pm)
        row["oracle_pre_existing_at_first_draw"] = bool(po) if oracle_alerts is not None else ""
        row["model_wrong_alerts"] = int((wm["patient"] == t.patient).sum()) if not wm.empty else 0
        row["oracle_wrong_alerts"] = (int((wo["patient"] == t.patient).sum()) if not wo.empty else 0) \
            if oracle_alerts is not None else ""
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(pat: pd.DataFrame, has_oracle: bool) -> dict:
    emerg = pat[pat["archetype"].isin(["acquired", "polyclonal"]) & (pat["pd_date"] != "")]
    out = {"patients": len(pat)}
    if has_oracle:
        vis = emerg[emerg["oracle_before_pd"]]
        out["sens_n"] = len(vis)
        out["sens"] = wilson(int(vis["model_before_pd"].sum()), len(vis))
        both = vis[vis["model_before_pd"]]
        m = both["model_lead_days"].astype(float).to_numpy()
        o = both["oracle_lead_days"].astype(float).to_numpy()
        out["lead_model"] = float(np.median(m)) if len(m) else math.nan
        out["lead_oracle"] = float(np.median(o)) if len(o) else math.nan
        out["lead_ratio"] = boot_ratio(m, o)
        out["lead_n"] = len(m)
        pre = pat[(pat["pre_existing"] == "yes") & (pat["oracle_pre_existing_at_first_draw"] == True)]  # noqa: E712
        out["pre_n"] = len(pre)
        out["pre"] = wilson(int(pre["model_pre_existing_at_first_draw"].sum()), len(pre))
        out["oracle_spec"] = wilson(int((pat["oracle_wrong_alerts"].astype(int) == 0).sum()), len(pat))
    out["sens_truth_n"] = len(emerg)
    out["sens_truth"] = wilson(int(emerg["model_before_pd"].sum()), len(emerg))
    out["spec"] = wilson(int((pat["model_wrong_alerts"] == 0).sum()), len(pat))
    allpre = pat[pat["pre_existing"] == "yes"]
    out["pre_truth"] = wilson(int(allpre["model_pre_existing_at_first_draw"].sum()), len(allpre))
    return out


def calibration_counts(cohort: Path, rundir: Path) -> dict:
    sd = pd.read_csv(cohort / "site_draws.tsv", sep="\t", dtype={"pos": str})
    noise = sd[(sd["role"] == "noise") & sd["written"]]
    tl = read_tsv(rundir / "results" / "timeline.tsv")
    keys = set(zip(noise["sample"], noise["chrom"], noise["pos"].astype(str), noise["ref"], noise["alt"]))
    if tl.empty:
        return dict(n_written=len(keys), n_rows=0, detected=0)
    tk = list(zip(tl["sample"], tl["chrom"], tl["pos"], tl["ref"], tl["alt"]))
    mask = np.array([k in keys for k in tk])
    rows = tl[mask]
    return dict(n_written=len(keys), n_rows=int(len(rows)), detected=int((rows["status"] == "detected").sum()))


# ----------------------------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cohorts", type=Path, required=True, help="generate.py --out folder")
    ap.add_argument("--scenarios", nargs="*", default=None, help="default: every scenario folder present")
    ap.add_argument("--calibration", nargs="*", default=None, help="score calib_* cohorts (none given = all present)")
    ap.add_argument("--seeds", nargs="+", type=int, required=True)
    ap.add_argument("--work", type=Path, required=True, help="run directories (<scenario>/seed<seed>/{model,oracle})")
    ap.add_argument("--report", type=Path, required=True, help="folder for the score tables")
    ap.add_argument("--repo", type=Path, default=REPO, help="ctdna-monitor checkout to run (default: this one)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--no-oracle", action="store_true", help="run and score the model only")
    ap.add_argument("--force", action="store_true", help="rerun workflows even when results exist")
    a = ap.parse_args(argv)
    a.report.mkdir(parents=True, exist_ok=True)
    if a.calibration is not None:
        names = [f"calib_{c}" for c in a.calibration] if a.calibration else \
            sorted(p.name for p in a.cohorts.iterdir() if p.name.startswith("calib_"))
    else:
        names = a.scenarios or sorted(p.name for p in a.cohorts.iterdir()
                                      if p.is_dir() and not p.name.startswith("calib_"))
    runs = []
    per_patient, calib = [], []
    for name in names:
        for seed in a.seeds:
            cohort = a.cohorts / name / f"seed{seed}"
            if not (cohort / "samples.tsv").exists():
                print(f"missing cohort {cohort}", file=sys.stderr)
                continue
            arms = ["model"] if a.no_oracle else ["model", "oracle"]
            ok = {}
            for arm in arms:
                rd = a.work / name / f"seed{seed}" / arm
                good, secs = run_workflow(a.repo, cohort, rd, arm == "oracle", a.cores, a.force)
                ok[arm] = good
                runs.append(dict(cohort=name, seed=seed, arm=arm, ok=good, seconds=round(secs, 1)))
                print(f"{name} seed{seed} {arm}: {'ok' if good else 'FAILED (see ' + str(rd / 'snakemake.log') + ')'}"
                      f" {secs:.0f}s", flush=True)
            if a.calibration is not None:
                for arm in arms:
                    if ok[arm]:
                        c = calibration_counts(cohort, a.work / name / f"seed{seed}" / arm)
                        calib.append(dict(cohort=name, seed=seed, arm=arm, **c))
                continue
            if not ok["model"]:
                continue
            truth = read_tsv(cohort / "truth.tsv")
            ma = read_tsv(a.work / name / f"seed{seed}" / "model" / "results" / "alerts.tsv")
            oa = read_tsv(a.work / name / f"seed{seed}" / "oracle" / "results" / "alerts.tsv") \
                if ok.get("oracle") else None
            pp = score_cohort(truth, ma, oa)
            pp.insert(1, "seed", seed)
            pp["oracle_ran"] = oa is not None
            per_patient.append(pp)
    pd.DataFrame(runs).to_csv(a.report / "runs.tsv", sep="\t", index=False)
    lines = []
    if a.calibration is not None:
        cal = pd.DataFrame(calib)
        cal.to_csv(a.report / "calibration_per_seed.tsv", sep="\t", index=False)
        lines += ["| cohort | arm | noise site-draws written | in timeline | detected | share detected (95% CI) "
                  "| target met |", "|---|---|---|---|---|---|---|"]
        rows = []
        if not cal.empty:
            for (c, arm), g in cal.groupby(["cohort", "arm"]):
                k, n = int(g["detected"].sum()), int(g["n_written"].sum())
                w = wilson(k, n)
                met = (w[0] <= ALPHA) and (w[2] <= 2 * ALPHA)
                rows.append(dict(cohort=c, arm=arm, n_written=n, n_rows=int(g["n_rows"].sum()), detected=k,
                                 share=w[0], lo=w[1], hi=w[2], target_met=met))
                lines.append(f"| {c} | {arm} | {n} | {int(g['n_rows'].sum())} | {k} | {fmt_p(w)} | "
                             f"{'yes' if met else 'no'} |")
        pd.DataFrame(rows).to_csv(a.report / "calibration.tsv", sep="\t", index=False)
    else:
        pat = pd.concat(per_patient) if per_patient else pd.DataFrame()
        pat.to_csv(a.report / "per_patient.tsv", sep="\t", index=False)
        has_oracle = (not a.no_oracle) and not pat.empty and bool(pat["oracle_ran"].all())
        summ = []
        groups = list(pat.groupby("scenario")) + [("ALL", pat)] if not pat.empty else []
        head = ("| scenario | patients | sensitivity, oracle-visible (95% CI; n) | specificity (95% CI) | "
                "lead model / oracle (days; n) | lead ratio (95% CI) | pre-existing flagged at first draw (n) | "
                "sensitivity vs all emergences (n) |")
        lines += [head, "|---|---|---|---|---|---|---|---|"]
        for scen, g in groups:
            s = summarise(g, has_oracle)
            rec = dict(scenario=scen, patients=s["patients"])
            for key in ("sens", "spec", "pre", "sens_truth", "pre_truth", "oracle_spec", "lead_ratio"):
                if key in s:
                    rec[key], rec[key + "_lo"], rec[key + "_hi"] = s[key]
            for key in ("sens_n", "pre_n", "sens_truth_n", "lead_model", "lead_oracle", "lead_n"):
                if key in s:
                    rec[key] = s[key]
            summ.append(rec)
            if has_oracle:
                lines.append(f"| {scen} | {s['patients']} | {fmt_p(s['sens'])}; {s['sens_n']} | {fmt_p(s['spec'])} | "
                             f"{s['lead_model']:.0f} / {s['lead_oracle']:.0f}; {s['lead_n']} | {fmt_p(s['lead_ratio'])} | "
                             f"{fmt_p(s['pre'])}; {s['pre_n']} | {fmt_p(s['sens_truth'])}; {s['sens_truth_n']} |")
            else:
                lines.append(f"| {scen} | {s['patients']} | (no oracle) | {fmt_p(s['spec'])} | – | – | "
                             f"vs truth: {fmt_p(s['pre_truth'])} | {fmt_p(s['sens_truth'])}; {s['sens_truth_n']} |")
        pd.DataFrame(summ).to_csv(a.report / "summary.tsv", sep="\t", index=False)
    (a.report / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Independent cohort generator for issue 11 (see CATALOGUE.md in this folder).

Written without reading the detection code. Uses numpy, pandas and pysam only.

    python generate.py --scenarios shared_hotspot bursts --seeds 1001 --patients 20 --out OUT
    python generate.py --calibration bursts batches --seeds 1001 --patients 48 --out OUT

Writes OUT/<scenario>/seed<seed>/ with samples.tsv, events.tsv, truth.tsv, oracle_background.tsv,
site_draws.tsv (every site-draw written, with its true fraction and error) and vcf/.
Research use only; every value is synthetic.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

AA3 = {"A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "E": "Glu", "Q": "Gln", "G": "Gly",
       "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe", "P": "Pro", "S": "Ser",
       "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter"}

CONTIGS = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]

# Non-KB sites. Truncal coordinates from resources/demo/truncal_variants.tsv; DNMT3A R882H from public files
# seen this session (unverified); the rest are SYNTHETIC positions (labelled in CATALOGUE.md).
TRUNCAL = {
    "TP53_R273H": ("chr17", 7673802, "C", "T", "TP53", "R273H"),
    "TP53_R175H": ("chr17", 7675088, "C", "T", "TP53", "R175H"),
    "PIK3CA_E545K": ("chr3", 179218303, "G", "A", "PIK3CA", "E545K"),
    "APC_R1450*": ("chr5", 112839942, "C", "T", "APC", "R1450*"),
    "EGFR_L858R": ("chr7", 55191822, "T", "G", "EGFR", "L858R"),
}
GERMLINE = {
    "GL_TP53_syn": ("chr17", 7676300, "G", "C", "TP53", ""),
    "GL_KRAS_syn": ("chr12", 25245500, "A", "G", "KRAS", ""),
    "GL_NRAS_syn": ("chr1", 114716300, "C", "T", "NRAS", ""),
}
CHIP = {
    "DNMT3A_R882H": ("chr2", 25234373, "C", "T", "DNMT3A", "R882H"),
    "TET2_syn": ("chr4", 105275000, "C", "T", "TET2", ""),
    "TP53_R273H": TRUNCAL["TP53_R273H"],
    "NRAS_G12D": ("chr1", 114716126, "C", "T", "NRAS", "G12D"),
    "KRAS_G12D": ("chr12", 25245350, "C", "T", "KRAS", "G12D"),
}

SPARSE_DIALECTS = ["mutect2", "vardict", "freebayes", "varscan2", "pisces", "deepvariant"]
FORCE_DIALECTS = ["bcftools", "strelka2", "lofreq", "mutect2"]

PROFILES = {  # base error range, hotspot range, depth range
    "dedup": ((1e-4, 1e-3), (2e-3, 1e-2), (1000, 5000)),
    "raw": ((1e-3, 1e-2), (5e-3, 1e-2), (1000, 5000)),
    "umi": ((1e-6, 1e-5), (1e-5, 1e-4), (5000, 30000)),
}

MIXED = {"acquired": 0.30, "pre_existing": 0.10, "polyclonal": 0.10, "hotspot_truncal": 0.20, "responder": 0.30}

SCENARIOS = {
    "shared_hotspot": dict(shares={"hotspot_truncal": 0.35, "acquired": 0.25, "pre_existing": 0.15,
                                   "responder": 0.25}, antiegfr_only=True, tp53_share=0.5),
    "sparse_carriers": dict(shares={"hotspot_truncal": 0.35, "acquired": 0.25, "pre_existing": 0.15,
                                    "responder": 0.25}, antiegfr_only=True, tp53_share=0.5, modes=["sparse"]),
    "germline_chip": dict(shares={"acquired": 0.30, "pre_existing": 0.10, "responder": 0.60},
                          germline_share=0.6, chip_share=0.4, chip_settings=True),
    "bursts": dict(process="bursts"),
    "batches": dict(process="batches"),
    "drift": dict(process="drift"),
    "depth10x": dict(process="depth10x"),
    "polyclonal": dict(shares={"polyclonal": 0.5, "acquired": 0.2, "responder": 0.3}),
    "vaf_only": dict(vendor_share=0.4),
    "duplicates": dict(duplicates=True),
    "annotation_free": dict(modes=["force"], annotate=False),
    "raw_ngs": dict(profile="raw", vaf_cap=0.3),
    "umi": dict(profile="umi", start_vaf=(1e-4, 5e-4)),
}
CALIBRATION = {
    "bursts": dict(process="bursts"), "batches": dict(process="batches"), "drift": dict(process="drift"),
    "depth10x": dict(process="depth10x"), "raw": dict(profile="raw"), "umi": dict(profile="umi"),
}

SETTINGS_ALL = [("COADREAD", "cetuximab"), ("COADREAD", "panitumumab"), ("LUAD", "osimertinib"),
                ("LUAD", "erlotinib"), ("GIST", "imatinib"), ("BRCA", "letrozole")]
SETTINGS_ANTIEGFR = [("COADREAD", "cetuximab"), ("COADREAD", "panitumumab")]
SHARED_RAS = ["KRAS_G12D", "KRAS_G12V", "NRAS_G12D", "KRAS_G13D", "NRAS_Q61K"]
POLY_ANTIEGFR = ["KRAS_G12D", "KRAS_G12V", "KRAS_G13D", "KRAS_Q61H_c183AT", "NRAS_Q61K",
                 "EGFR_S492R_c1476CA", "EGFR_G465R_c1393GA"]
PREFERRED = {"osimertinib": ["EGFR_C797S_c2389TA", "EGFR_C797S_c2390GC", "EGFR_L718Q"],
             "erlotinib": ["EGFR_T790M"], "imatinib": ["KIT_V654A", "KIT_T670I", "KIT_D816V", "KIT_N822K_c2466TG"],
             "letrozole": ["ESR1_D538G"]}
DRIVER = {"osimertinib": "EGFR_L858R", "erlotinib": "EGFR_L858R", "letrozole": "PIK3CA_E545K",
          "cetuximab": "APC_R1450*", "panitumumab": "APC_R1450*", "imatinib": "TP53_R175H"}
BRAND = {"cetuximab": "Erbitux", "osimertinib": "Tagrisso", "erlotinib": "Tarceva", "imatinib": "Gleevec",
         "letrozole": "Femara", "panitumumab": "Vectibix"}


# ----------------------------------------------------------------------------------------------- resources
def load_kb(path: Path) -> pd.DataFrame:
    kb = pd.read_csv(path, sep="\t", comment="#", dtype=str)
    kb = kb.dropna(subset=["grch38_pos"])
    kb["pos"] = kb["grch38_pos"].astype(float).astype(int)
    snv = (kb["grch38_ref"].str.len() == 1) & (kb["grch38_alt"].str.len() == 1)
    return kb[snv].set_index("id", drop=False)


def load_drugs(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", comment="#", dtype=str).set_index("drug", drop=False)


def relevant_kb(kb: pd.DataFrame, drugs: pd.DataFrame, drug: str) -> list[str]:
    """KB rows whose resistance_to lists the drug, or (empty resistance_to) whose class matches."""
    classes = set(str(drugs.loc[drug, "drug_class"]).split(","))
    out = []
    for rid, row in kb.iterrows():
        rt = row["resistance_to"]
        if isinstance(rt, str) and rt.strip():
            if drug in [x.strip() for x in rt.split(",")]:
                out.append(rid)
        elif classes & set(str(row["drug_class"]).split(",")):
            out.append(rid)
    return out


@dataclass(frozen=True)
class Site:
    key: str
    chrom: str
    pos: int
    ref: str
    alt: str
    gene: str
    protein: str
    kb: bool

    @property
    def code(self) -> str:
        return f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}"


def kb_site(kb: pd.DataFrame, rid: str) -> Site:
    r = kb.loc[rid]
    return Site(rid, r["grch38_chrom"], int(r["pos"]), r["grch38_ref"], r["grch38_alt"], r["gene"],
                r["protein_change"], True)


def other_site(table: dict, key: str, kb: pd.DataFrame) -> Site:
    c, p, ref, alt, gene, prot = table[key]
    in_kb = bool(((kb["grch38_chrom"] == c) & (kb["pos"] == p) & (kb["grch38_alt"] == alt)).any())
    return Site(key, c, p, ref, alt, gene, prot, in_kb)


# ----------------------------------------------------------------------------------------------- model
@dataclass
class Patient:
    pid: str
    archetype: str
    cancer: str
    drug: str
    drug_name: str
    draws: list = field(default_factory=list)      # (sample, date)
    therapy_start: dt.date | None = None
    therapy_end: dt.date | None = None
    scans: list = field(default_factory=list)      # (date, RECIST)
    pd_date: dt.date | None = None
    resistance: dict = field(default_factory=dict)  # Site -> (onset_day, start_vaf, doubling, pre)
    truncal: list = field(default_factory=list)
    germline: list = field(default_factory=list)
    chip: dict = field(default_factory=dict)        # Site -> fraction
    tf0: float = 0.05
    mode: str = "sparse"
    vendor: bool = False


def stable_offset(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def choose(rng, shares: dict) -> str:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], float)
    return keys[rng.choice(len(keys), p=p / p.sum())]


def tumour_fraction(p: Patient, day: float, res_vaf: float) -> float:
    """Truncal VAF: falls on therapy (responder shape); the resistant clone carries the truncal variants."""
    if day <= 0:
        base = p.tf0
    else:
        nadir = p.tf0 * 0.08
        base = nadir + (p.tf0 - nadir) * np.exp(-day / 25.0)
    if p.archetype == "hotspot_truncal" and p.pd_date is not None:
        pd_day = (p.pd_date - p.therapy_start).days
        regrow_from = pd_day - 100
        if day > regrow_from:
            base = base * 2 ** ((day - regrow_from) / 30.0)
    return float(min(0.6, base + res_vaf))


def resistance_vaf(info, day: float, cap: float) -> float:
    onset, v0, doubling, pre = info
    if pre:
        return float(min(cap, v0 * 1.5 ** (max(day, 0) / 60.0)))
    if day < onset:
        return 0.0
    return float(min(cap, v0 * 2 ** ((day - onset) / doubling)))


def build_cohort(scen: str, cfg: dict, seed: int, n_patients: int, kb, drugs, calibration=False):
    rng = np.random.default_rng(seed * 1_000_003 + stable_offset(scen) % 1_000_000)
    profile = cfg.get("profile", "dedup")
    (blo, bhi), (hlo, hhi), (dlo, dhi) = PROFILES[profile]
    process = cfg.get("process", "none")
    if process == "depth10x":
        dlo, dhi = (600, 6000) if profile != "umi" else (3000, 30000)
    vaf_cap = cfg.get("vaf_cap", 0.2)
    start_vaf = cfg.get("start_vaf", (5e-4, 2e-3) if profile != "raw" else (2e-3, 5e-3))
    shares = cfg.get("shares", MIXED)
    modes = cfg.get("modes", ["sparse", "force"])
    annotate = cfg.get("annotate", True)
    cohort_start = dt.date(2024, 1, 8)
    patients: list[Patient] = []
    for i in range(n_patients):
        pid = f"{scen[:3].upper()}{seed}-P{i + 1:03d}"
        if calibration:
            arch = "noise"
            cancer, drug = "COADREAD", "cetuximab"
        else:
            arch = choose(rng, shares)
            if arch == "hotspot_truncal":
                cancer, drug = [("PAAD", "folfirinox"), ("COADREAD", "folfox")][rng.integers(2)]
            elif arch == "responder" and rng.random() < 0.3:
                cancer, drug = [("PAAD", "folfirinox"), ("COADREAD", "folfox")][rng.integers(2)]
            elif cfg.get("antiegfr_only") or arch == "pre_existing" or (arch == "polyclonal" and rng.random() < 0.7):
                if arch == "pre_existing" and not cfg.get("antiegfr_only") and rng.random() < 0.3:
                    cancer, drug = "LUAD", "erlotinib"
                else:
                    cancer, drug = SETTINGS_ANTIEGFR[rng.integers(2)]
            elif arch == "polyclonal":
                cancer, drug = "LUAD", "osimertinib"
            elif cfg.get("chip_settings") and arch == "acquired":
                cancer, drug = [("COADREAD", "cetuximab"), ("COADREAD", "panitumumab"),
                                ("LUAD", "osimertinib")][rng.integers(3)]
            else:
                cancer, drug = SETTINGS_ALL[rng.integers(len(SETTINGS_ALL))]
        name = drug
        if drug in BRAND and rng.random() < 0.25:
            name = BRAND[drug]
        elif drug == "folfox" and rng.random() < 0.5:
            name = "FOLFOX"
        elif drug == "folfirinox":
            name = "FOLFIRINOX"
        p = Patient(pid, arch, cancer, drug, name)
        p.mode = modes[rng.integers(len(modes))] if not calibration else "force"
        p.vendor = (not calibration) and rng.random() < cfg.get("vendor_share", 0.0)
        p.tf0 = float(10 ** rng.uniform(np.log10(0.02), np.log10(0.3)))
        first = cohort_start + dt.timedelta(days=int(rng.integers(0, 180)))
        p.therapy_start = first + dt.timedelta(days=int(rng.integers(1, 14)))
        # resistance truth
        rel = relevant_kb(kb, drugs, drug) if drug in drugs.index else []
        if arch == "acquired":
            if drug in ("cetuximab", "panitumumab"):
                pool = [r for r in SHARED_RAS if r in rel]
            else:
                pool = [r for r in PREFERRED.get(drug, rel) if r in rel] or rel
            rid = pool[rng.integers(len(pool))]
            onset = float(rng.uniform(60, 250))
            p.resistance[kb_site(kb, rid)] = (onset, float(10 ** rng.uniform(*np.log10(start_vaf))),
                                              float(rng.uniform(20, 40)), False)
        elif arch == "pre_existing":
            if drug == "erlotinib":
                rid, v0 = "EGFR_T790M", float(rng.uniform(0.005, 0.03))
            else:
                rid, v0 = ["KRAS_G12V", "KRAS_G12D"][rng.integers(2)], float(rng.uniform(0.01, 0.04))
            p.resistance[kb_site(kb, rid)] = (0.0, v0, 1e9, True)
        elif arch == "polyclonal":
            pool = [r for r in (POLY_ANTIEGFR if drug != "osimertinib" else PREFERRED["osimertinib"]) if r in rel]
            k = int(rng.integers(2, min(4, len(pool)) + 1))
            chosen = rng.choice(pool, size=k, replace=False)
            onset0 = float(rng.uniform(60, 200))
            for j, rid in enumerate(chosen):
                onset = onset0 + (0 if j == 0 else float(rng.uniform(0, 90)))
                p.resistance[kb_site(kb, str(rid))] = (onset, float(10 ** rng.uniform(*np.log10(start_vaf))),
                                                       float(rng.uniform(20, 40)), False)
        # truncal / germline / chip
        if not calibration:
            if arch == "hotspot_truncal":
                p.truncal.append(other_site(CHIP, "KRAS_G12D", kb) if rng.random() < 0.5 else
                                 kb_site(kb, "KRAS_G12V"))
            drv = DRIVER.get(drug)
            if drv:
                p.truncal.append(other_site(TRUNCAL, drv, kb))
            if rng.random() < cfg.get("tp53_share", 0.4):
                p.truncal.append(other_site(TRUNCAL, "TP53_R273H", kb))
            elif rng.random() < 0.3:
                p.truncal.append(other_site(TRUNCAL, "TP53_R175H", kb))
            gshare = cfg.get("germline_share", 0.3)
            if rng.random() < gshare:
                for key in GERMLINE:
                    if rng.random() < 0.6:
                        p.germline.append(other_site(GERMLINE, key, kb))
            if rng.random() < cfg.get("chip_share", 0.2):
                opts = ["DNMT3A_R882H", "TET2_syn"]
                if not any(s.key == "TP53_R273H" for s in p.truncal):
                    opts.append("TP53_R273H")
                res_codes = {s.code for s in p.resistance}
                if drug not in ("cetuximab", "panitumumab"):
                    opts += ["NRAS_G12D", "KRAS_G12D"]
                for key in rng.choice(opts, size=int(rng.integers(1, 3)), replace=False):
                    s = other_site(CHIP, str(key), kb)
                    if s.code not in res_codes and s.code not in {t.code for t in p.truncal}:
                        p.chip[s] = float(rng.uniform(0.01, 0.02))
        # schedule: draws every 28-42 days; scans every 56-84 days; PD for resisters
        draws = [first]
        last_needed = p.therapy_start + dt.timedelta(days=int(rng.integers(180, 300)))
        res_onsets = [v[0] for v in p.resistance.values()]
        if calibration:
            n_draws = 8
        else:
            n_draws = None
        scans = []
        t = p.therapy_start
        pd_day = None
        if p.resistance and not calibration:
            if arch == "pre_existing":
                pd_day = None  # first or second scan, set below
            else:
                pd_day = min(res_onsets) + float(rng.uniform(60, 120))
        elif arch == "hotspot_truncal" and rng.random() < 0.5:
            pd_day = float(rng.uniform(150, 300))
        pd_scan_index = int(rng.integers(1, 3)) if arch == "pre_existing" else None
        while True:
            t = t + dt.timedelta(days=int(rng.integers(56, 85)))
            day = (t - p.therapy_start).days
            if pd_scan_index is not None and len(scans) + 1 == pd_scan_index:
                scans.append((t, "PD"))
                break
            if pd_day is not None and day >= pd_day:
                scans.append((t, "PD"))
                break
            scans.append((t, "PR" if len(scans) == 0 and rng.random() < 0.6 else "SD"))
            if pd_day is None and t > last_needed:
                break
        p.scans = scans
        if scans[-1][1] == "PD":
            p.pd_date = scans[-1][0]
            p.therapy_end = p.pd_date + dt.timedelta(days=3)
            end_draws = p.pd_date + dt.timedelta(days=20)
        else:
            end_draws = scans[-1][0]
        d = first
        while True:
            d = d + dt.timedelta(days=int(rng.integers(28, 43)))
            if (n_draws is not None and len(draws) >= n_draws) or (n_draws is None and d > end_draws):
                break
            draws.append(d)
        p.draws = [(f"{pid}-D{j + 1}", dd) for j, dd in enumerate(draws)]
        patients.append(p)

    # -------- site universe and errors (site error is an assay property, shared across patients)
    universe: dict[tuple, Site] = {}
    pat_sites: dict[str, list[Site]] = {}
    for p in patients:
        rel = relevant_kb(kb, drugs, p.drug) if p.drug in drugs.index else []
        sites = [kb_site(kb, r) for r in rel] + list(p.resistance) + p.truncal + p.germline + list(p.chip)
        if not calibration:
            # sites any patient could show as noise / CHIP in KB genes
            sites += [other_site(CHIP, "NRAS_G12D", kb), other_site(CHIP, "KRAS_G12D", kb),
                      other_site(TRUNCAL, "TP53_R273H", kb)]
        uniq = {}
        for s in sites:
            uniq[(s.chrom, s.pos, s.ref, s.alt)] = s
        pat_sites[p.pid] = list(uniq.values())
        universe.update(uniq)
    base = {}
    for k in sorted(universe):
        lo, hi = (hlo, hhi) if rng.random() < 0.10 else (blo, bhi)
        base[k] = float(10 ** rng.uniform(np.log10(lo), np.log10(hi)))
    # process factors
    all_draws = sorted((d, p.pid, s) for p in patients for s, d in p.draws)
    run_of = {}
    run_factor = {}
    if process == "batches":
        run, k = 0, 0
        size = int(rng.integers(8, 13))
        for _d, _pid, s in all_draws:
            run_of[s] = run
            k += 1
            if k >= size:
                run, k, size = run + 1, 0, int(rng.integers(8, 13))
        for r in range(run + 1):
            f = float(np.exp(rng.normal(0, 0.5)))
            if rng.random() < 1 / 6:
                f *= float(rng.uniform(4, 10))
            run_factor[r] = f
    burst_sites = {}
    if process == "bursts":
        for _d, _pid, s in all_draws:
            if rng.random() < 0.15:
                burst_sites[s] = {k: float(rng.uniform(10, 50)) for k in universe if rng.random() < 0.3}
    drift_g = {k: float(rng.uniform(-1, 2.3)) for k in universe} if process == "drift" else {}

    rows, oracle = [], []
    for p in patients:
        for s_name, d in p.draws:
            depth = float(10 ** rng.uniform(np.log10(dlo), np.log10(dhi)))
            day = (d - p.therapy_start).days
            yrs = (d - cohort_start).days / 365.0
            for s in pat_sites[p.pid]:
                k = (s.chrom, s.pos, s.ref, s.alt)
                proc = 1.0
                if process == "batches":
                    proc = run_factor[run_of[s_name]]
                elif process == "bursts":
                    proc = burst_sites.get(s_name, {}).get(k, 1.0)
                elif process == "drift":
                    proc = float(np.exp(drift_g[k] * yrs))
                e = base[k] * proc * float(np.exp(rng.normal(0, 0.25)))
                e = min(e, 0.05)
                f, role = 0.0, "noise"
                if s in p.resistance:
                    f, role = resistance_vaf(p.resistance[s], day, vaf_cap), "resistance"
                res_total = max([resistance_vaf(v, day, vaf_cap) for v in p.resistance.values()] or [0.0])
                if any(s.code == t.code for t in p.truncal):
                    f, role = tumour_fraction(p, day, res_total), "truncal"
                if any(s.code == g.code for g in p.germline):
                    f, role = float(np.clip(rng.normal(0.5, 0.02), 0.4, 0.6)), "germline"
                for c, cf in p.chip.items():
                    if c.code == s.code:
                        f, role = cf * (1 + 0.1 * yrs), "chip"
                sdepth = max(50, int(depth * np.exp(rng.normal(0, 0.15))))
                prob = min(1.0, f * (1 - e) + e) if f > 0 else e
                alt = int(rng.binomial(sdepth, prob))
                rows.append(dict(patient=p.pid, sample=s_name, date=d.isoformat(), chrom=s.chrom, pos=s.pos,
                                 ref=s.ref, alt=s.alt, gene=s.gene, protein=s.protein, kb=s.kb, role=role,
                                 true_vaf=round(f, 6), error_rate=e, depth=sdepth, alt_reads=alt))
                oracle.append(dict(chrom=s.chrom, pos=s.pos, ref=s.ref, alt=s.alt, error_rate=f"{e:.4g}",
                                   dispersion=0, sample=s_name))
    return patients, pd.DataFrame(rows), pd.DataFrame(oracle), annotate


# ----------------------------------------------------------------------------------------------- VCF writing
def csq(row) -> str | None:
    prot = row["protein"]
    if not isinstance(prot, str) or not prot:
        return None
    if prot[-1] == "*" or not prot[0].isalpha():
        hp = ""
    else:
        hp = f"p.{AA3.get(prot[0], prot[0])}{prot[1:-1]}{AA3.get(prot[-1], prot[-1])}"
    return f"{row['alt']}|missense_variant|MODERATE|{row['gene']}|||{hp}|YES"


def header_for(dialect: str, samples: list[str], annotate: bool, draw: str) -> pysam.VariantHeader:
    h = pysam.VariantHeader()
    for c in CONTIGS:
        h.contigs.add(c)
    h.add_line('##FILTER=<ID=weak_evidence,Description="Evidence below the caller\'s threshold">')
    src = {"mutect2": "Mutect2", "vardict": "VarDict_v1.8.2", "strelka2": "strelka", "freebayes": "freeBayes v1.3.6",
           "varscan2": "VarScan2", "bcftools": "bcftools call", "lofreq": "lofreq call", "deepvariant": "DeepVariant",
           "pisces": "Pisces", "vendor": "vendor report converted to VCF"}[dialect]
    h.add_meta("source", src)
    if annotate:
        h.add_line('##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
                   'Format: Allele|Consequence|IMPACT|SYMBOL|Feature|HGVSc|HGVSp|CANONICAL">')
    F = h.formats.add
    INF = h.info.add
    if dialect != "lofreq":
        F("GT", 1, "String", "Genotype")
    if dialect == "mutect2":
        h.add_meta("tumor_sample", draw)
        h.add_meta("normal_sample", "NORMAL")
        F("AD", "R", "Integer", "Allelic depths for the ref and alt alleles")
        F("AF", "A", "Float", "Allele fractions of alternate alleles in the tumor")
        F("DP", 1, "Integer", "Approximate read depth")
        INF("DP", 1, "Integer", "Approximate read depth")
    elif dialect == "vardict":
        INF("DP", 1, "Integer", "Total Depth")
        INF("VD", 1, "Integer", "Variant Depth")
        INF("AF", "A", "Float", "Allele Frequency")
        F("DP", 1, "Integer", "Total Depth")
        F("VD", 1, "Integer", "Variant forward, reverse reads")
        F("AD", "R", "Integer", "Allelic depths for the ref and alt alleles in the order listed")
        F("AF", "A", "Float", "Allele Frequency")
    elif dialect == "strelka2":
        INF("SOMATIC", 0, "Flag", "Somatic mutation")
        INF("DP", 1, "Integer", "Combined depth across samples")
        F("DP", 1, "Integer", "Read depth for tier1 (used+filtered)")
        F("FDP", 1, "Integer", "Number of basecalls filtered from original read depth for tier1")
        for b in "ACGT":
            F(f"{b}U", 2, "Integer", f"Number of '{b}' alleles used in tiers 1,2")
    elif dialect == "freebayes":
        F("DP", 1, "Integer", "Read Depth")
        F("RO", 1, "Integer", "Reference allele observation count")
        F("AO", "A", "Integer", "Alternate allele observation count")
        INF("DP", 1, "Integer", "Total read depth at the locus")
    elif dialect == "varscan2":
        INF("DP", 1, "Integer", "Total depth of quality bases")
        INF("SOMATIC", 0, "Flag", "Indicates if record is a somatic mutation")
        F("DP", 1, "Integer", "Read Depth")
        F("RD", 1, "Integer", "Depth of reference-supporting bases (reads1)")
        F("AD", 1, "Integer", "Depth of variant-supporting bases (reads2)")
        F("FREQ", 1, "String", "Variant allele frequency")
    elif dialect == "bcftools":
        INF("DP", 1, "Integer", "Raw read depth")
        INF("DP4", 4, "Integer", "Number of high-quality ref-forward, ref-reverse, alt-forward and alt-reverse bases")
        F("DP", 1, "Integer", "Number of high-quality bases")
        F("AD", "R", "Integer", "Allelic depths (high-quality bases)")
    elif dialect == "lofreq":
        INF("DP", 1, "Integer", "Raw Depth")
        INF("AF", 1, "Float", "Allele Frequency")
        INF("SB", 1, "Integer", "Phred-scaled strand bias at this position")
        INF("DP4", 4, "Integer", "Counts for ref-forward bases, ref-reverse, alt-forward and alt-reverse bases")
    elif dialect == "deepvariant":
        F("GQ", 1, "Integer", "Conditional genotype quality")
        F("DP", 1, "Integer", "Read depth")
        F("AD", "R", "Integer", "Read depth for each allele")
        F("VAF", "A", "Float", "Variant allele fractions.")
    elif dialect == "pisces":
        INF("DP", 1, "Integer", "Total Depth")
        F("GQ", 1, "Integer", "Genotype Quality")
        F("AD", ".", "Integer", "Allele Depth")
        F("VF", 1, "Float", "Variant Frequency")
        F("NL", 1, "Integer", "Applied BaseCall Noise Level")
    elif dialect == "vendor":
        F("AF", "A", "Float", "Variant allele fraction as reported by the assay")
    for s in samples:
        h.add_sample(s)
    return h


def split2(n: int, rng) -> tuple[int, int]:
    a = int(rng.binomial(n, 0.5)) if n > 0 else 0
    return a, n - a


def write_vcf(path: Path, dialect: str, draw: str, recs: pd.DataFrame, annotate: bool, rng,
              dup_mode: str | None) -> str:
    """Write one draw; returns the vcf_sample column value for the sample sheet."""
    layout = {"mutect2": ["NORMAL", draw], "strelka2": ["NORMAL", "TUMOR"], "varscan2": ["NORMAL", "TUMOR"],
              "lofreq": []}.get(dialect, [draw])
    vcf_sample = {"strelka2": "TUMOR", "varscan2": "TUMOR"}.get(dialect, "")
    h = header_for(dialect, layout, annotate, draw)
    order = {c: i for i, c in enumerate(CONTIGS)}
    recs = recs.assign(_o=recs["chrom"].map(order)).sort_values(["_o", "pos", "alt"])
    items = [r for _, r in recs.iterrows()]
    if dup_mode == "repeat" and items:
        for r in list(rng.choice(len(items), size=min(len(items), int(rng.integers(1, 4))), replace=False)):
            items.append(items[int(r)])
    if dup_mode == "split" and items:
        r = items[int(rng.integers(len(items)))].copy()
        other = [b for b in "ACGT" if b not in (r["ref"], r["alt"])]
        r["alt"] = other[int(rng.integers(len(other)))]
        r["alt_reads"] = int(rng.integers(0, 2))
        r["protein"] = ""
        items.append(r)
    items.sort(key=lambda r: (order[r["chrom"]], int(r["pos"])))
    mode = "wz" if str(path).endswith(".gz") else "w"
    with pysam.VariantFile(str(path), mode, header=h) as out:
        for r in items:
            ref, alt, a, dp = r["ref"], r["alt"], int(r["alt_reads"]), int(r["depth"])
            rd = dp - a
            vaf = a / dp if dp else 0.0
            rec = out.new_record(contig=r["chrom"], start=int(r["pos"]) - 1, alleles=(ref, alt))
            if dialect == "mutect2":
                rec.filter.add("PASS" if a >= 3 else "weak_evidence")
            elif dialect in ("vardict", "strelka2", "varscan2", "vendor"):
                rec.filter.add("PASS")
            if annotate:
                c = csq(r)
                if c:
                    rec.info["CSQ"] = (c,)
            if dialect == "mutect2":
                n = rec.samples["NORMAL"]
                nd = int(rng.integers(300, 900))
                n["GT"], n["AD"], n["AF"], n["DP"] = (0, 0), (nd, 0), 0.0, nd
                t = rec.samples[draw]
                t["GT"], t["AD"], t["AF"], t["DP"] = (0, 1), (rd, a), round(vaf, 5), dp
                rec.info["DP"] = dp + nd
            elif dialect == "vardict":
                rec.info["DP"], rec.info["VD"], rec.info["AF"] = dp, a, round(vaf, 5)
                t = rec.samples[draw]
                t["GT"], t["DP"], t["VD"], t["AD"], t["AF"] = (0, 1), dp, a, (rd, a), round(vaf, 5)
            elif dialect == "strelka2":
                rec.info["SOMATIC"] = True
                nd = int(rng.integers(300, 900))
                rec.info["DP"] = dp + nd
                for smp, refc, altc, dd in (("NORMAL", nd, 0, nd), ("TUMOR", rd, a, dp)):
                    s = rec.samples[smp]
                    s["DP"], s["FDP"] = dd, 0
                    for b in "ACGT":
                        cnt = refc if b == ref else (altc if b == alt else 0)
                        s[f"{b}U"] = (cnt, cnt)
            elif dialect == "freebayes":
                rec.info["DP"] = dp
                t = rec.samples[draw]
                t["GT"], t["DP"], t["RO"], t["AO"] = (0, 1), dp, rd, (a,)
            elif dialect == "varscan2":
                rec.info["DP"] = dp + 500
                rec.info["SOMATIC"] = True
                n = rec.samples["NORMAL"]
                n["GT"], n["DP"], n["RD"], n["AD"], n["FREQ"] = (0, 0), 500, 500, 0, "0%"
                t = rec.samples["TUMOR"]
                t["GT"], t["DP"], t["RD"], t["AD"], t["FREQ"] = (0, 1), dp, rd, a, f"{100 * vaf:.2f}%"
            elif dialect == "bcftools":
                rf, rr = split2(rd, rng)
                af, ar = split2(a, rng)
                rec.info["DP"], rec.info["DP4"] = dp, (rf, rr, af, ar)
                t = rec.samples[draw]
                t["GT"], t["DP"], t["AD"] = (0, 1) if a else (0, 0), dp, (rd, a)
            elif dialect == "lofreq":
                rf, rr = split2(rd, rng)
                af, ar = split2(a, rng)
                rec.info["DP"], rec.info["AF"], rec.info["SB"] = dp, round(vaf, 6), 0
                rec.info["DP4"] = (rf, rr, af, ar)
            elif dialect == "deepvariant":
                t = rec.samples[draw]
                t["GT"], t["GQ"], t["DP"], t["AD"], t["VAF"] = (0, 1), 20, dp, (rd, a), round(vaf, 6)
            elif dialect == "pisces":
                rec.info["DP"] = dp
                t = rec.samples[draw]
                t["GT"], t["GQ"], t["AD"], t["VF"], t["NL"] = (0, 1), 100, (rd, a), round(vaf, 4), 20
            elif dialect == "vendor":
                t = rec.samples[draw]
                t["GT"], t["AF"] = (0, 1), round(vaf, 4)
            out.write(rec)
    return vcf_sample


def write_cohort(out: Path, scen: str, cfg: dict, seed: int, n_patients: int, kb, drugs, calibration=False):
    patients, sd, oracle, annotate = build_cohort(scen, cfg, seed, n_patients, kb, drugs, calibration)
    rng = np.random.default_rng(seed + 77 + stable_offset(scen) % 10_000)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vcf").mkdir(exist_ok=True)
    sheet, events, truth, written = [], [], [], []
    for p in patients:
        for s_name, d in p.draws:
            recs = sd[(sd["sample"] == s_name)]
            if p.vendor:
                dialect = "vendor"
                keep = recs[(recs["alt_reads"] >= 5) & (recs["alt_reads"] / recs["depth"] >= 0.002)]
            elif p.mode == "force":
                dialect = FORCE_DIALECTS[int(rng.integers(len(FORCE_DIALECTS)))]
                keep = recs
            else:
                dialect = SPARSE_DIALECTS[int(rng.integers(len(SPARSE_DIALECTS)))]
                keep = recs[recs["alt_reads"] >= 1]
            dup = None
            if cfg.get("duplicates"):
                u = rng.random()
                dup = "repeat" if u < 0.30 else ("split" if u < 0.45 else None)
            ext = ".vcf.gz" if rng.random() < 0.5 else ".vcf"
            rel = f"vcf/{s_name}{ext}"
            vs = write_vcf(out / rel, dialect, s_name, keep, annotate and dialect != "lofreq", rng, dup)
            sheet.append(dict(patient=p.pid, sample=s_name, date=d.isoformat(), vcf=rel, vcf_sample=vs,
                              cancer_type=p.cancer))
            w = keep.assign(dialect=dialect, written=True)
            written.append(w)
        events.append(dict(patient=p.pid, date=p.therapy_start.isoformat(), event="therapy_start",
                           value=p.drug_name))
        for sd_, resp in p.scans:
            events.append(dict(patient=p.pid, date=sd_.isoformat(), event="scan", value=resp))
        if p.therapy_end:
            events.append(dict(patient=p.pid, date=p.therapy_end.isoformat(), event="therapy_end",
                               value=p.drug_name))
        truth.append(dict(
            patient=p.pid, scenario=scen, archetype=p.archetype, cancer_type=p.cancer, drug=p.drug,
            therapy_start=p.therapy_start.isoformat(), first_draw=p.draws[0][0],
            pd_date=p.pd_date.isoformat() if p.pd_date else "",
            resistance_sites=";".join(s.code for s in p.resistance),
            resistance_kb_ids=";".join(s.key for s in p.resistance),
            onset_days=";".join(f"{v[0]:.0f}" for v in p.resistance.values()),
            pre_existing="yes" if any(v[3] for v in p.resistance.values()) else "no",
            truncal_sites=";".join(s.code for s in p.truncal),
            germline_sites=";".join(s.code for s in p.germline),
            chip_sites=";".join(s.code for s in p.chip),
            file_mode="vendor" if p.vendor else p.mode))
    pd.DataFrame(sheet).to_csv(out / "samples.tsv", sep="\t", index=False)
    pd.DataFrame(events).sort_values(["patient", "date"]).to_csv(out / "events.tsv", sep="\t", index=False)
    pd.DataFrame(truth).to_csv(out / "truth.tsv", sep="\t", index=False)
    oracle.to_csv(out / "oracle_background.tsv", sep="\t", index=False)
    wr = pd.concat(written) if written else pd.DataFrame()
    sd = sd.merge(wr[["sample", "chrom", "pos", "ref", "alt", "dialect"]].drop_duplicates(),
                  on=["sample", "chrom", "pos", "ref", "alt"], how="left")
    sd["written"] = sd["dialect"].notna()
    sd.to_csv(out / "site_draws.tsv", sep="\t", index=False)
    return len(patients), len(sheet), int(sd["written"].sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", nargs="*", default=None, help=f"scenario ids (default all): {' '.join(SCENARIOS)}")
    ap.add_argument("--calibration", nargs="*", default=None,
                    help=f"write noise-only calibration cohorts instead: {' '.join(CALIBRATION)} (none given = all)")
    ap.add_argument("--seeds", nargs="+", type=int, required=True)
    ap.add_argument("--patients", type=int, default=40)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repo", type=Path, default=REPO)
    a = ap.parse_args(argv)
    kb = load_kb(a.repo / "resources" / "resistance_mutations.tsv")
    drugs = load_drugs(a.repo / "resources" / "drugs.tsv")
    if a.calibration is not None:
        todo = [(f"calib_{c}", CALIBRATION[c], True) for c in (a.calibration or list(CALIBRATION))]
    else:
        todo = [(s, SCENARIOS[s], False) for s in (a.scenarios or list(SCENARIOS))]
    for name, cfg, calib in todo:
        for seed in a.seeds:
            d = a.out / name / f"seed{seed}"
            n, draws, sitedraws = write_cohort(d, name, cfg, seed, a.patients, kb, drugs, calib)
            print(f"{name}\tseed {seed}\t{n} patients\t{draws} draws\t{sitedraws} site-draws written\t{d}")


if __name__ == "__main__":
    main()

"""A deterministic, seeded cohort simulator with ground truth, for validating the workflow.

`simulate_cohort(out_dir, n_patients, seed, kb_path, truncal_path)` writes a synthetic cohort the
workflow reads as it is (VCFs, `samples.tsv`, `events.tsv`) plus what only a simulator knows:
`truth.tsv` (scenario, resistance site, onset and progression dates per patient) and
`true_background.tsv` (the per-site sequencing error rate and its overdispersion, i.e. what an
oracle background model would use). Same seed -> byte-identical text content.

Only the knowledge-base coordinates (rows with a verified GRCh38 coordinate) and the truncal
coordinates (`resources/demo/truncal_variants.tsv`, SNVs only) are real. Germline and CHIP
variants are placed at synthetic positions on chr22 (20,000,000 + an offset derived from the
patient number) with random bases and a gene label only; their genes (DNMT3A/TET2 for CHIP) say
what they stand for, not where those genes lie. Read counts, dates and kinetics are invented.
Research use only.

Model
- Setting: one drug per patient (erlotinib, cetuximab, letrozole, imatinib, vemurafenib,
  abiraterone); its resistance sites are all knowledge-base rows with a GRCh38 coordinate whose
  `resistance_to` lists the drug. Panel = those sites + 2 truncal SNVs + 2 germline SNVs
  (+ 1 CHIP SNV in ~20% of patients).
- Scenarios (exact quotas, shuffled): acquired 40%, intrinsic 10%, non-mutational progression 15%,
  responder 35%.
  * sensitive clone: baseline level b, falls exponentially by 10-100x to a nadir within ~40-70
    days of the therapy start (responders: 100-1000x and keeps falling towards 0);
  * acquired: a resistant clone appears at one resistance site at day 60-200 at VAF 1e-4 and
    doubles every 15-35 days; intrinsic: present at the first draw at VAF 0.3-3% and growing;
  * non-mutational: no resistance variant; the sensitive clone regrows from its nadir (doubling
    20-40 days);
  * truncal VAF = variant multiplier x (sensitive + resistant), capped.
  Scans every 56 days from the therapy start; PD is the first scan where the resistant clone is at
  >= 1% (acquired, intrinsic) or the truncal level is >= baseline/2 (non-mutational). Drawing stops
  one draw after PD. Draws every 28-42 days, 8-12 planned, the first 0-7 days before therapy.
- Noise: each panel site has an error rate e_s ~ log-normal (median 2e-4, sigma 0.8, clipped to
  [2e-5, 3e-3]), drawn once per cohort; 15% of the resistance sites are noisy hotspots (x10,
  clipped at 5e-3). Per draw the error varies: e ~ Beta(e_s*kappa, (1-e_s)*kappa), kappa = 3000
  (beta-binomial dispersion rho = 1/(kappa+1)). Alt reads = Binomial(depth, VAF) +
  Binomial(depth, e). Depth: a per-draw log-normal around 3000 (clipped 800-10000), jittered per site.
- VCFs: the dialect cycles mutect2, vardict, strelka2, freebayes, varscan2, bcftools (all with VEP
  annotation); half the patients are force-called (every panel site at every draw), the others sparse
  (only sites with >= 1 alt read).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .demo import load_truncal
from .knowledgebase import KnowledgeBase
from .vcf_writer import CONTIGS, SimVariant, write_vcf

SETTINGS = ("erlotinib", "cetuximab", "letrozole", "imatinib", "vemurafenib", "abiraterone")
# Truncal drivers plausible for each setting (SNVs of truncal_variants.tsv; never CHIP genes).
TRUNCAL_POOLS = {
    "erlotinib": ("EGFR:L858R", "TP53:R273H", "TP53:R175H"),
    "cetuximab": ("APC:R1450*", "TP53:R175H", "TP53:R273H", "PIK3CA:E545K"),
    "letrozole": ("PIK3CA:H1047R", "PIK3CA:E545K", "TP53:R273H"),
}
DEFAULT_TRUNCAL_POOL = ("TP53:R175H", "TP53:R273H", "PIK3CA:E545K", "PIK3CA:H1047R")
SCENARIOS = (("acquired", 0.40), ("intrinsic", 0.10), ("non_mutational", 0.15), ("responder", 0.35))
DIALECTS = ("mutect2", "vardict", "strelka2", "freebayes", "varscan2", "bcftools")
CHIP_GENES = ("DNMT3A", "TET2")
GERMLINE_GENE = "SIMGERM"  # a label for the synthetic germline SNVs, not a real gene

ERROR_MEDIAN, ERROR_SIGMA, ERROR_RANGE = 2e-4, 0.8, (2e-5, 3e-3)
HOTSPOT_SHARE, HOTSPOT_FOLD, HOTSPOT_MAX = 0.15, 10.0, 5e-3
KAPPA = 3000.0
DEPTH_MEDIAN, DEPTH_SIGMA, DEPTH_RANGE, SITE_DEPTH_SIGMA = 3000.0, 0.35, (800, 10000), 0.08
SCAN_EVERY_DAYS = 56
EMERGENCE_VAF, PD_RESISTANT_VAF = 1e-4, 0.01
TUMOUR_CAP = 0.4  # the tumour's allele fraction saturates here (VAF of a truncal variant <= ~0.5)
SYNTHETIC_CHROM, SYNTHETIC_BASE = "chr22", 20_000_000
FIRST_THERAPY = dt.date(2024, 1, 1)
TRUTH_COLUMNS = [
    "patient", "setting_drug", "scenario", "kb_id", "chrom", "pos", "ref", "alt",
    "resistant_onset_date", "pd_date", "n_draws", "dialect", "force_called",
]  # fmt: skip
BACKGROUND_COLUMNS = ["chrom", "pos", "ref", "alt", "error_rate", "dispersion"]


@dataclass(frozen=True)
class Site:
    chrom: str
    pos: int
    ref: str
    alt: str
    gene: str
    protein_change: str = ""
    transcript: str = ""
    hgvs_c: str = ""
    kb_id: str = ""

    @property
    def key(self) -> tuple:
        return (self.chrom, self.pos, self.ref, self.alt)


@dataclass
class Kinetics:
    """True tumour kinetics of one patient; days are relative to the therapy start."""

    scenario: str
    baseline: float  # sensitive-clone level at and before therapy start
    fold: float  # fall to the nadir
    nadir_day: float
    regrow_doubling: float | None = None  # non-mutational progression
    onset_day: float | None = None  # resistant clone appears (acquired) / first draw (intrinsic)
    onset_vaf: float = 0.0
    resistant_doubling: float | None = None

    def sensitive(self, day: float) -> float:
        if day <= 0:
            return self.baseline
        rate = math.log(self.fold) / self.nadir_day
        if self.scenario == "responder" or day <= self.nadir_day:
            return self.baseline * math.exp(-rate * day)
        nadir = self.baseline / self.fold
        if self.regrow_doubling:
            return nadir * 2 ** ((day - self.nadir_day) / self.regrow_doubling)
        return nadir

    def resistant(self, day: float) -> float:
        if self.onset_day is None or day < self.onset_day:
            return 0.0
        return min(self.onset_vaf * 2 ** ((day - self.onset_day) / self.resistant_doubling), TUMOUR_CAP)

    def tumour(self, day: float) -> float:
        return min(self.sensitive(day) + self.resistant(day), TUMOUR_CAP)


@dataclass
class Patient:
    id: str
    drug: str
    scenario: str
    dialect: str
    force_called: bool
    therapy_start: dt.date
    kinetics: Kinetics
    resistance_sites: list[Site]
    resistant_site: Site | None
    truncal: list[tuple[Site, float]]  # (site, multiplier)
    germline: list[Site]
    chip: tuple[Site, float] | None
    draw_days: list[int] = field(default_factory=list)
    scans: list[tuple[int, str]] = field(default_factory=list)
    pd_day: int | None = None
    # Further panel sites without any variant (only sequencing error); benchmarks/scale fills them to
    # make panel-sized VCFs. Empty by default, which leaves the simulated cohorts unchanged.
    background_sites: list[Site] = field(default_factory=list)

    @property
    def panel(self) -> list[Site]:
        sites = [*self.resistance_sites, *(s for s, _ in self.truncal), *self.germline]
        return sites + ([self.chip[0]] if self.chip else []) + self.background_sites

    def date(self, day: int) -> str:
        return (self.therapy_start + dt.timedelta(days=int(day))).isoformat()

    def true_vaf(self, site: Site, day: int) -> float:
        if site in self.germline:
            return 0.5
        if self.chip and site == self.chip[0]:
            return self.chip[1]
        for truncal, multiplier in self.truncal:
            if site == truncal:
                return min(multiplier * self.kinetics.tumour(day), 0.5)
        if site == self.resistant_site:
            return self.kinetics.resistant(day)
        return 0.0


# --------------------------------------------------------------------------- settings and sites


def build_settings(kb: KnowledgeBase) -> dict[str, list[Site]]:
    """Drug -> resistance sites: knowledge-base rows with a GRCh38 coordinate that list the drug."""
    settings = {}
    for drug in SETTINGS:
        sites = []
        for entry in kb.entries.values():
            if "GRCh38" in entry.coords and drug in entry.resistance_to:
                chrom, pos, ref, alt = entry.coords["GRCh38"]
                row = kb.rows[entry.id]
                sites.append(
                    Site(chrom, pos, ref, alt, entry.gene, entry.protein_change, row["transcript"], row["hgvs_c"], entry.id)
                )
        if not sites:
            raise ValueError(f"the knowledge base has no GRCh38 resistance site for {drug}")
        settings[drug] = sites
    return settings


def truncal_sites(truncal_path) -> dict[str, Site]:
    """'GENE:PROTEIN' -> Site for the SNVs of the truncal table."""
    sites = {}
    for row in load_truncal(truncal_path).values():
        if len(row["grch38_ref"]) == 1 and len(row["grch38_alt"]) == 1:
            sites[f"{row['gene']}:{row['protein_change']}"] = Site(
                row["grch38_chrom"], int(row["grch38_pos"]), row["grch38_ref"], row["grch38_alt"],
                row["gene"], row["protein_change"], row["transcript"], row["hgvs_c"],
            )  # fmt: skip
    return sites


def _synthetic_snv(rng, index: int, slot: int, gene: str) -> Site:
    position = SYNTHETIC_BASE + index * 1000 + slot * 100 + int(rng.integers(0, 100))
    ref = "ACGT"[int(rng.integers(0, 4))]
    alt = [b for b in "ACGT" if b != ref][int(rng.integers(0, 3))]
    return Site(SYNTHETIC_CHROM, position, ref, alt, gene)


def _error_rate(rng) -> float:
    value = ERROR_MEDIAN * math.exp(ERROR_SIGMA * float(rng.standard_normal()))
    return float(np.clip(value, *ERROR_RANGE))


def cohort_error_rates(rng, settings, truncal) -> tuple[dict, set]:
    """Error rate of every shared site (drawn once per cohort) and the noisy hotspots."""
    resistance = list(dict.fromkeys(site.key for sites in settings.values() for site in sites))
    shared = resistance + [s.key for s in truncal.values() if s.key not in resistance]
    rates = {key: _error_rate(rng) for key in shared}
    n_hot = round(HOTSPOT_SHARE * len(resistance))
    hot = {resistance[i] for i in sorted(rng.choice(len(resistance), size=n_hot, replace=False))}
    for key in hot:
        rates[key] = min(rates[key] * HOTSPOT_FOLD, HOTSPOT_MAX)
    return rates, hot


# --------------------------------------------------------------------------- patients


def _quota(n: int, shares) -> list[str]:
    """Exact counts by largest remainder, as a list of names."""
    raw = [(name, n * share) for name, share in shares]
    counts = {name: math.floor(value) for name, value in raw}
    order = sorted(raw, key=lambda item: -(item[1] - math.floor(item[1])))
    for name, _ in order[: n - sum(counts.values())]:
        counts[name] += 1
    return [name for name, _ in shares for _ in range(counts[name])]


def _log_uniform(rng, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _kinetics(rng, scenario: str, first_day: int) -> Kinetics:
    baseline = _log_uniform(rng, 0.005, 0.08)
    if scenario == "responder":
        return Kinetics(scenario, baseline, _log_uniform(rng, 100, 1000), float(rng.uniform(40, 70)))
    kinetics = Kinetics(scenario, baseline, _log_uniform(rng, 10, 100), float(rng.uniform(40, 70)))
    if scenario == "non_mutational":
        kinetics.regrow_doubling = float(rng.uniform(20, 40))
    elif scenario == "acquired":
        kinetics.onset_day = float(rng.integers(60, 201))
        kinetics.onset_vaf = EMERGENCE_VAF
        kinetics.resistant_doubling = float(rng.uniform(15, 35))
    elif scenario == "intrinsic":
        kinetics.onset_day = float(first_day)
        kinetics.onset_vaf = _log_uniform(rng, 0.003, 0.03)
        kinetics.resistant_doubling = float(rng.uniform(15, 35))
    return kinetics


def _planned_days(rng) -> list[int]:
    """Draw days relative to the therapy start: the first 0-7 days before it, then every 28-42 days."""
    days = [-int(rng.integers(0, 8))]
    for _ in range(int(rng.integers(8, 13)) - 1):
        days.append(days[-1] + int(rng.integers(28, 43)))
    return days


def _schedule(patient: Patient, planned: list[int]):
    """Scans every 56 days, the PD scan, and the draws (up to one after PD)."""
    scan_days = list(range(SCAN_EVERY_DAYS, planned[-1] + 1, SCAN_EVERY_DAYS))
    kinetics = patient.kinetics
    if patient.scenario in ("acquired", "intrinsic"):
        progressed = [d for d in scan_days if kinetics.resistant(d) >= PD_RESISTANT_VAF]
    elif patient.scenario == "non_mutational":
        progressed = [d for d in scan_days if kinetics.tumour(d) >= kinetics.baseline / 2]
    else:
        progressed = []
    pd_day = progressed[0] if progressed else None
    days = planned
    if pd_day is not None:
        days = [d for d in planned if d <= pd_day] + [d for d in planned if d > pd_day][:1]
    patient.draw_days, patient.pd_day = days, pd_day
    patient.scans = [(d, _recist(patient, d)) for d in scan_days if d <= days[-1] and (pd_day is None or d <= pd_day)]


def _recist(patient: Patient, day: int) -> str:
    if day == patient.pd_day:
        return "PD"
    level = patient.kinetics.tumour(day)
    if patient.scenario == "responder":
        return "CR" if level < 1e-4 else "PR"
    return "PR" if level < 0.3 * patient.kinetics.baseline else "SD"


def make_patients(rng, n_patients: int, seed: int, settings, truncal, rates: dict) -> list[Patient]:
    scenarios = [str(s) for s in rng.permutation(_quota(n_patients, SCENARIOS))]
    drugs = [str(d) for d in rng.permutation([SETTINGS[i % len(SETTINGS)] for i in range(n_patients)])]
    patients = []
    for index in range(n_patients):
        drug, scenario = drugs[index], scenarios[index]
        pool = [key for key in TRUNCAL_POOLS.get(drug, DEFAULT_TRUNCAL_POOL) if key in truncal]
        chosen = sorted(int(i) for i in rng.choice(len(pool), size=2, replace=False))
        truncal_variants = [(truncal[pool[i]], float(rng.uniform(0.8, 1.2))) for i in chosen]
        germline = [_synthetic_snv(rng, index + 1, slot, GERMLINE_GENE) for slot in (0, 1)]
        chip = None
        if rng.random() < 0.2:
            gene = CHIP_GENES[int(rng.integers(0, len(CHIP_GENES)))]
            chip = (_synthetic_snv(rng, index + 1, 5, gene), _log_uniform(rng, 0.005, 0.02))
        for site in germline + ([chip[0]] if chip else []):
            rates[site.key] = _error_rate(rng)
        planned = _planned_days(rng)
        kinetics = _kinetics(rng, scenario, planned[0])
        resistant_site = None
        if scenario in ("acquired", "intrinsic"):
            resistant_site = settings[drug][int(rng.integers(0, len(settings[drug])))]
        start = FIRST_THERAPY + dt.timedelta(days=int(rng.integers(0, 366)))
        patient = Patient(
            f"SIM{seed}-P{index + 1:03d}", drug, scenario, DIALECTS[index % len(DIALECTS)],
            (index + index // len(DIALECTS)) % 2 == 0, start, kinetics, settings[drug], resistant_site,
            truncal_variants, germline, chip,
        )  # fmt: skip
        _schedule(patient, planned)
        patients.append(patient)
    return patients


# --------------------------------------------------------------------------- reads and files


def _draw_counts(rng, patient: Patient, day: int, rates: dict) -> list[SimVariant]:
    draw_depth = float(np.clip(DEPTH_MEDIAN * math.exp(DEPTH_SIGMA * float(rng.standard_normal())), *DEPTH_RANGE))
    variants = []
    for site in patient.panel:
        depth = int(max(100, round(draw_depth * math.exp(SITE_DEPTH_SIGMA * float(rng.standard_normal())))))
        rate = rates[site.key]
        error = float(rng.beta(rate * KAPPA, (1 - rate) * KAPPA))
        alt = int(rng.binomial(depth, patient.true_vaf(site, day))) + int(rng.binomial(depth, error))
        variants.append(
            SimVariant(site.chrom, site.pos, site.ref, site.alt, min(alt, depth), depth,
                       site.gene, site.protein_change, site.transcript, site.hgvs_c)
        )  # fmt: skip
    return variants


def write_patient(rng, patient: Patient, out_dir: Path, rates: dict) -> list[list]:
    """Write the patient's VCFs; returns its sample-sheet rows."""
    rows = []
    vcf_sample = "TUMOR" if patient.dialect in ("strelka2", "varscan2") else ""
    for number, day in enumerate(patient.draw_days, start=1):
        draw = f"{patient.id}-D{number:02d}"
        variants = _draw_counts(rng, patient, day, rates)
        if not patient.force_called:
            variants = [v for v in variants if v.alt_reads > 0]
        suffix = ".vcf.gz" if number % 2 == 0 else ".vcf"
        path = out_dir / "vcf" / f"{draw}{suffix}"
        write_vcf(path, patient.dialect, draw, variants, "vep")
        rows.append([patient.id, draw, patient.date(day), f"vcf/{path.name}", vcf_sample])
    return rows


def truth_row(patient: Patient) -> list:
    site = patient.resistant_site
    onset = ""
    if site is not None:
        onset = patient.date(patient.kinetics.onset_day)
    return [
        patient.id, patient.drug, patient.scenario, site.kb_id if site else "",
        *(site.key if site else ("", "", "", "")), onset,
        patient.date(patient.pd_day) if patient.pd_day is not None else "",
        len(patient.draw_days), patient.dialect, "true" if patient.force_called else "false",
    ]  # fmt: skip


def event_rows(patient: Patient) -> list[list]:
    rows = [[patient.id, patient.therapy_start.isoformat(), "therapy_start", patient.drug]]
    rows += [[patient.id, patient.date(day), "scan", value] for day, value in patient.scans]
    return rows


def background_rows(patients: list[Patient], rates: dict) -> list[list]:
    keys = {site.key for patient in patients for site in patient.panel}
    order = list(CONTIGS)
    rho = 1.0 / (KAPPA + 1.0)
    return [
        [chrom, pos, ref, alt, f"{rates[(chrom, pos, ref, alt)]:.6g}", f"{rho:.6g}"]
        for chrom, pos, ref, alt in sorted(keys, key=lambda k: (order.index(k[0]), k[1], k[2], k[3]))
    ]


def build_cohort(n_patients: int, seed: int, kb_path, truncal_path):
    """The cohort's patients (with their true kinetics) and site error rates, before any read is drawn.

    Returns (rng, patients, rates); `simulate_cohort` continues drawing reads from that rng.
    """
    rng = np.random.default_rng(seed)
    settings = build_settings(KnowledgeBase(kb_path))
    truncal = truncal_sites(truncal_path)
    rates, _ = cohort_error_rates(rng, settings, truncal)
    patients = make_patients(rng, n_patients, seed, settings, truncal, rates)
    return rng, patients, rates


def simulate_cohort(out_dir, n_patients: int, seed: int, kb_path, truncal_path) -> Path:
    """Write the cohort (VCFs, samples.tsv, events.tsv) and its truth under `out_dir`."""
    out_dir = Path(out_dir)
    (out_dir / "vcf").mkdir(parents=True, exist_ok=True)
    rng, patients, rates = build_cohort(n_patients, seed, kb_path, truncal_path)
    sample_rows, events, truth = [], [], []
    for patient in patients:
        sample_rows += write_patient(rng, patient, out_dir, rates)
        events += event_rows(patient)
        truth.append(truth_row(patient))
    _write_tsv(out_dir / "samples.tsv", ["patient", "sample", "date", "vcf", "vcf_sample"], sample_rows)
    _write_tsv(out_dir / "events.tsv", ["patient", "date", "event", "value"], events)
    _write_tsv(out_dir / "truth.tsv", TRUTH_COLUMNS, truth)
    _write_tsv(out_dir / "true_background.tsv", BACKGROUND_COLUMNS, background_rows(patients, rates))
    return out_dir


def _write_tsv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Simulate a ctDNA monitoring cohort with ground truth.")
    parser.add_argument("out_dir")
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--knowledgebase", default="resources/resistance_mutations.tsv")
    parser.add_argument("--truncal", default="resources/demo/truncal_variants.tsv")
    args = parser.parse_args(argv)
    print(simulate_cohort(args.out_dir, args.patients, args.seed, args.knowledgebase, args.truncal))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

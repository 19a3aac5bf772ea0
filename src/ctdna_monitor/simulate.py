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
- Setting: a drug setting of `CATALOGUE` (benchmarks/validation/SCENARIOS.md says why each one is
  there). The six legacy settings (erlotinib, cetuximab, letrozole, imatinib, vemurafenib,
  abiraterone) give one drug each; the newer ones give a regimen (one drug or several, e.g.
  dabrafenib + trametinib; alternatives such as sotorasib or adagrasib are drawn per patient). A
  targeted setting's resistance sites are all knowledge-base rows with a GRCh38 coordinate that are
  resistance to a drug of the patient's regimen by the workflow's own rule (by name, or by class for
  class-level rows; never the drug's own sensitising target; the drug table next to the knowledge
  base decides, else names only); a regimen without one is dropped and a
  setting left without any is skipped, both with a message (`skipped` in `settings.tsv`). Two
  non-targeted arms (FOLFOX chemotherapy in colorectal cancer; pembrolizumab or ipilimumab +
  nivolumab in melanoma) have no resistance truth at all: their truncal drivers include a
  knowledge-base hotspot (KRAS/NRAS/BRAF rows that list anti-EGFR antibodies) that must never
  raise a resistance alert, and their panels carry the knowledge-base sites of the same cancer's
  targeted settings (noise only). Some targeted settings also carry a knowledge-base row that is
  the regimen's own sensitising target as a truncal driver (KRAS G12C under sotorasib, BRAF V600E
  under dabrafenib + trametinib, EGFR T790M in half of the osimertinib patients).
  `simulate_cohort(..., settings="legacy")` (the default) simulates only the legacy settings, with
  exactly the random stream of the earlier versions; `settings="all"` the whole catalogue.
  Panel = the resistance (or watched) sites + 2 truncal SNVs (+ the knowledge-base driver) + 2
  germline SNVs (+ 1 CHIP SNV in ~20% of patients).
- Scenarios (exact quotas over the targeted patients, shuffled): acquired 40%, intrinsic 10%,
  non-mutational progression 15%, responder 35%; arm patients: non-mutational 50%, responder 50%.
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
- VCFs: the dialect cycles mutect2, vardict, strelka2, freebayes, varscan2, bcftools. Legacy settings
  are VEP-annotated; in the newer settings and the arms the annotation cycles per setting through
  none (matching by position alone), VEP, none, SnpEff, none, bcftools csq. Half the patients are
  force-called (every panel site at every draw), the others sparse (only sites with >= 1 alt read).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .demo import load_truncal
from .knowledgebase import DrugTable, KnowledgeBase
from .vcf_writer import CONTIGS, SimVariant, write_vcf

LEGACY_SETTINGS = ("erlotinib", "cetuximab", "letrozole", "imatinib", "vemurafenib", "abiraterone")
SETTINGS = LEGACY_SETTINGS  # the settings of the default ("legacy") cohort
TARGETED, CHEMOTHERAPY, IMMUNOTHERAPY = "targeted", "chemotherapy", "immunotherapy"
TP53_POOL = ("TP53:R273H", "TP53:R175H")
# Truncal drivers plausible for each legacy setting (SNVs of truncal_variants.tsv; never CHIP genes).
TRUNCAL_POOLS = {
    "erlotinib": ("EGFR:L858R", "TP53:R273H", "TP53:R175H"),
    "cetuximab": ("APC:R1450*", "TP53:R175H", "TP53:R273H", "PIK3CA:E545K"),
    "letrozole": ("PIK3CA:H1047R", "PIK3CA:E545K", "TP53:R273H"),
}
DEFAULT_TRUNCAL_POOL = ("TP53:R175H", "TP53:R273H", "PIK3CA:E545K", "PIK3CA:H1047R")
LEGACY_CANCER = {
    "erlotinib": "NSCLC", "cetuximab": "COADREAD", "letrozole": "BRCA", "imatinib": "CML",
    "vemurafenib": "MEL", "abiraterone": "PRAD",
}  # fmt: skip
SCENARIOS = (("acquired", 0.40), ("intrinsic", 0.10), ("non_mutational", 0.15), ("responder", 0.35))
ARM_SCENARIOS = (("non_mutational", 0.5), ("responder", 0.5))
DIALECTS = ("mutect2", "vardict", "strelka2", "freebayes", "varscan2", "bcftools")
# Annotation of the newer settings' VCFs, cycled per setting: half carry none (position matching only).
NEW_ANNOTATIONS = (None, "vep", None, "snpeff", None, "bcsq")
CHIP_GENES = ("DNMT3A", "TET2")
GERMLINE_GENE = "SIMGERM"  # a label for the synthetic germline SNVs, not a real gene


@dataclass(frozen=True)
class SettingSpec:
    """One drug setting of the catalogue (benchmarks/validation/SCENARIOS.md)."""

    name: str
    arm: str  # TARGETED, CHEMOTHERAPY or IMMUNOTHERAPY
    cancer_type: str  # OncoTree code
    regimens: tuple  # alternatives, each a tuple of therapy_start values as a lab writes them
    truncal_pool: tuple = DEFAULT_TRUNCAL_POOL  # "GENE:PROTEIN" keys of the truncal table
    kb_drivers: tuple = ()  # "GENE:PROTEIN" of knowledge-base rows that can be a truncal driver
    kb_driver_share: float = 0.0  # share of the setting's patients carrying one of them
    watch_drugs: tuple = ()  # arms: knowledge-base sites listing these drugs are on the panel
    annotations: tuple = NEW_ANNOTATIONS

    @property
    def legacy(self) -> bool:
        return self.name in LEGACY_SETTINGS


def _legacy(drug: str) -> SettingSpec:
    pool = TRUNCAL_POOLS.get(drug, DEFAULT_TRUNCAL_POOL)
    return SettingSpec(drug, TARGETED, LEGACY_CANCER[drug], ((drug,),), pool, annotations=("vep",))


CATALOGUE = tuple(_legacy(drug) for drug in LEGACY_SETTINGS) + (
    SettingSpec("osimertinib", TARGETED, "NSCLC", (("osimertinib",),), ("EGFR:L858R", *TP53_POOL),
                ("EGFR:T790M",), 0.5, annotations=NEW_ANNOTATIONS),
    SettingSpec("kras_g12c", TARGETED, "NSCLC", (("sotorasib",), ("adagrasib",)), TP53_POOL,
                ("KRAS:G12C",), 1.0, annotations=NEW_ANNOTATIONS),
    SettingSpec("alk", TARGETED, "NSCLC", (("lorlatinib",), ("alectinib",)), TP53_POOL, annotations=NEW_ANNOTATIONS),
    SettingSpec("braf_mek", TARGETED, "MEL", (("dabrafenib", "trametinib"),), TP53_POOL,
                ("BRAF:V600E",), 1.0, annotations=NEW_ANNOTATIONS),
    SettingSpec("btk_covalent", TARGETED, "CLLSLL", (("ibrutinib",),), ("SF3B1:K700E", *TP53_POOL), annotations=NEW_ANNOTATIONS),
    SettingSpec("flt3", TARGETED, "AML", (("gilteritinib",),), TP53_POOL, annotations=NEW_ANNOTATIONS),
    SettingSpec("ret", TARGETED, "NSCLC", (("selpercatinib",),), TP53_POOL, annotations=NEW_ANNOTATIONS),
    SettingSpec("esr1_serd", TARGETED, "BRCA", (("fulvestrant",),), ("PIK3CA:H1047R", "PIK3CA:E545K", "TP53:R273H"),
                annotations=NEW_ANNOTATIONS),
    SettingSpec("folfox", CHEMOTHERAPY, "COADREAD", (("FOLFOX",),), ("APC:R1450*", *TP53_POOL),
                ("KRAS:G12D", "KRAS:G12V", "KRAS:G13D", "NRAS:Q61K", "BRAF:V600E"), 1.0,
                ("cetuximab", "panitumumab"), NEW_ANNOTATIONS),
    SettingSpec("checkpoint", IMMUNOTHERAPY, "MEL", (("pembrolizumab",), ("ipilimumab", "nivolumab")), TP53_POOL,
                ("BRAF:V600E", "NRAS:Q61K", "NRAS:Q61R"), 1.0,
                ("vemurafenib", "dabrafenib", "trametinib", "encorafenib", "binimetinib", "cobimetinib"), NEW_ANNOTATIONS),
)  # fmt: skip

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
    "setting", "arm", "cancer_type", "annotation", "truncal_kb",
]  # fmt: skip
BACKGROUND_COLUMNS = ["chrom", "pos", "ref", "alt", "error_rate", "dispersion"]
SAMPLE_COLUMNS = ["patient", "sample", "date", "vcf", "vcf_sample", "cancer_type"]
SETTING_COLUMNS = ["setting", "arm", "cancer_type", "regimens", "resistance_sites", "status", "message"]


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
    setting: str = ""  # catalogue name; `drug` is the regimen as a label ("dabrafenib+trametinib")
    arm: str = TARGETED
    cancer_type: str = ""
    regimen: tuple = ()  # therapy_start values
    annotation: str | None = "vep"  # None: the VCFs carry no annotation (position matching only)

    @property
    def panel(self) -> list[Site]:
        sites = [*self.resistance_sites, *(s for s, _ in self.truncal), *self.germline]
        sites += ([self.chip[0]] if self.chip else []) + self.background_sites
        # a knowledge-base driver can also be a watched site: one record per position and allele
        unique = {}
        for site in sites:
            unique.setdefault(site.key, site)
        return list(unique.values())

    @property
    def truncal_kb(self) -> list[str]:
        return [site.kb_id for site, _ in self.truncal if site.kb_id]

    def date(self, day: int) -> str:
        return (self.therapy_start + dt.timedelta(days=int(day))).isoformat()

    def true_vaf(self, site: Site, day: int) -> float:
        if site in self.germline:
            return 0.5
        if self.chip and site == self.chip[0]:
            return self.chip[1]
        for truncal, multiplier in self.truncal:
            if site.key == truncal.key:
                return min(multiplier * self.kinetics.tumour(day), 0.5)
        if self.resistant_site is not None and site.key == self.resistant_site.key:
            return self.kinetics.resistant(day)
        return 0.0


# --------------------------------------------------------------------------- settings and sites


def _kb_site(kb: KnowledgeBase, entry) -> Site:
    chrom, pos, ref, alt = entry.coords["GRCh38"]
    row = kb.rows[entry.id]
    return Site(chrom, pos, ref, alt, entry.gene, entry.protein_change, row["transcript"], row["hgvs_c"], entry.id)


def kb_sites_for(kb: KnowledgeBase, drugs, drug_table: DrugTable | None = None) -> list[Site]:
    """Knowledge-base rows with a GRCh38 coordinate that are resistance to any of `drugs`.

    With a drug table the workflow's own rule decides (`KnowledgeBase.is_relevant`: by name, or by
    class for class-level rows whose `resistance_to` is empty; regimens by their components), and a
    drug's own sensitising target is never a resistance site. Without one, by name only.
    """
    if drug_table is None:
        wanted = {d.lower() for d in drugs}
        return [_kb_site(kb, e) for e in kb.entries.values() if "GRCh38" in e.coords and wanted & set(e.resistance_to)]
    generic = [drug_table.resolve(d) or d.lower() for d in drugs]
    targets = {t for d in generic for t in drug_table.targets(d)}
    return [
        _kb_site(kb, e) for e in kb.entries.values()
        if "GRCh38" in e.coords and f"{e.gene}:{e.protein_change}".upper() not in targets
        and kb.is_relevant(e.id, generic, drug_table)
    ]  # fmt: skip


def kb_site_by_protein(kb: KnowledgeBase, key: str) -> Site | None:
    """The first (by id) placed knowledge-base row for 'GENE:PROTEIN', or None."""
    gene, _, protein = key.partition(":")
    hits = sorted(e.id for e in kb.entries.values() if (e.gene, e.protein_change) == (gene, protein) and "GRCh38" in e.coords)
    return _kb_site(kb, kb.entries[hits[0]]) if hits else None


def build_settings(kb: KnowledgeBase) -> dict[str, list[Site]]:
    """Legacy drug -> resistance sites: knowledge-base rows with a GRCh38 coordinate that list the drug."""
    settings = {}
    for drug in LEGACY_SETTINGS:
        sites = kb_sites_for(kb, [drug])
        if not sites:
            raise ValueError(f"the knowledge base has no GRCh38 resistance site for {drug}")
        settings[drug] = sites
    return settings


@dataclass
class ActiveSetting:
    """A catalogue setting as this knowledge base allows it: the regimens that have sites, and why not."""

    spec: SettingSpec
    regimens: list  # [(regimen, resistance or watched sites)]
    drivers: list  # knowledge-base Sites usable as truncal drivers
    status: str = "run"
    message: str = ""

    @property
    def sites(self) -> list[Site]:
        unique = {}
        for _, sites in self.regimens:
            for site in sites:
                unique.setdefault(site.key, site)
        return list(unique.values())


def resolve_settings(kb: KnowledgeBase, names="legacy", drug_table: DrugTable | None = None) -> list[ActiveSetting]:
    """The catalogue settings named ("legacy", "all" or a list of names) against this knowledge base.

    A regimen none of whose drugs has a placed knowledge-base row is dropped, a targeted setting left
    without a regimen is skipped (status `skipped`), and a knowledge-base driver that is not placed
    is left out; `message` says which. Legacy settings raise instead (the benchmark needs them).
    `drug_table`: see `kb_sites_for`.
    """
    if names == "legacy":
        names = list(LEGACY_SETTINGS)
    elif names == "all":
        names = [spec.name for spec in CATALOGUE]
    by_name = {spec.name: spec for spec in CATALOGUE}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    active = []
    for name in names:
        spec = by_name[name]
        notes, regimens = [], []
        drivers = [kb_site_by_protein(kb, key) for key in spec.kb_drivers]
        missing = [key for key, site in zip(spec.kb_drivers, drivers) if site is None]
        drivers = [site for site in drivers if site is not None]
        if missing:
            notes.append(f"driver(s) without a GRCh38 knowledge-base row left out: {', '.join(missing)}")
        # A targeted setting's own-target driver is never one of its resistance sites; an arm's
        # drivers stay watched (noise only) in the patients who do not carry them.
        driver_keys = {site.key for site in drivers} if spec.arm == TARGETED else set()
        for regimen in spec.regimens:
            drugs = spec.watch_drugs if spec.arm != TARGETED else regimen
            sites = [site for site in kb_sites_for(kb, drugs, drug_table) if site.key not in driver_keys]
            if sites or spec.arm != TARGETED:
                regimens.append((regimen, sites))
            else:
                notes.append(f"no placed knowledge-base row is resistance to {'+'.join(regimen)}: regimen dropped")
        setting = ActiveSetting(spec, regimens, drivers, message="; ".join(notes))
        if not regimens:
            if spec.legacy:
                raise ValueError(f"the knowledge base has no GRCh38 resistance site for {name}")
            setting.status = "skipped"
        active.append(setting)
    return active


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
    """Error rate of every shared site (drawn once per cohort) and the noisy hotspots.

    `settings` is a list of ActiveSetting (or, as before, a dict drug -> sites); the watched and
    resistance sites come first, then the knowledge-base drivers and the truncal table.
    """
    if isinstance(settings, dict):
        groups, drivers = list(settings.values()), []
    else:
        groups = [s.sites for s in settings if s.status == "run"]
        drivers = [site.key for s in settings if s.status == "run" for site in s.drivers]
    resistance = list(dict.fromkeys(site.key for sites in groups for site in sites))
    shared = resistance + [k for k in dict.fromkeys(drivers) if k not in resistance]
    shared += [s.key for s in truncal.values() if s.key not in shared]
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


def _assign(rng, n_patients: int, active: list[ActiveSetting]) -> tuple[list, list]:
    """Setting and scenario per patient: settings round-robin then shuffled, scenarios by exact quotas.

    Targeted patients share the SCENARIOS quotas, arm patients the ARM_SCENARIOS ones. With only
    targeted settings the random draws are those of the earlier versions (same cohorts per seed).
    """
    names = [active[i % len(active)].spec.name for i in range(n_patients)]
    by_name = {setting.spec.name: setting for setting in active}
    n_arm = sum(by_name[name].spec.arm != TARGETED for name in names)
    targeted = [str(s) for s in rng.permutation(_quota(n_patients - n_arm, SCENARIOS))]
    order = [by_name[str(name)] for name in rng.permutation(names)]
    arms = [str(s) for s in rng.permutation(_quota(n_arm, ARM_SCENARIOS))] if n_arm else []
    scenarios = [(arms if setting.spec.arm != TARGETED else targeted).pop(0) for setting in order]
    return order, scenarios


def make_patients(rng, n_patients: int, seed: int, settings, truncal, rates: dict) -> list[Patient]:
    """The cohort's patients; `settings` is a list of ActiveSetting (skipped ones are ignored)."""
    active = [setting for setting in settings if setting.status == "run"]
    order, scenarios = _assign(rng, n_patients, active)
    seen: dict[str, int] = {}
    patients = []
    for index in range(n_patients):
        setting, scenario = order[index], scenarios[index]
        spec = setting.spec
        count = seen[spec.name] = seen.get(spec.name, -1) + 1
        # Draws only the newer settings make come first, so legacy patients keep their random stream.
        regimen, sites = setting.regimens[0]
        if len(setting.regimens) > 1:
            regimen, sites = setting.regimens[int(rng.integers(0, len(setting.regimens)))]
        driver = None
        if setting.drivers and rng.random() < spec.kb_driver_share:
            driver = setting.drivers[int(rng.integers(0, len(setting.drivers)))]
        pool = [key for key in spec.truncal_pool if key in truncal]
        chosen = sorted(int(i) for i in rng.choice(len(pool), size=2, replace=False))
        truncal_variants = [(truncal[pool[i]], float(rng.uniform(0.8, 1.2))) for i in chosen]
        if driver is not None:
            truncal_variants.append((driver, float(rng.uniform(0.8, 1.2))))
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
            resistant_site = sites[int(rng.integers(0, len(sites)))]
        start = FIRST_THERAPY + dt.timedelta(days=int(rng.integers(0, 366)))
        patient = Patient(
            f"SIM{seed}-P{index + 1:03d}", "+".join(regimen), scenario, DIALECTS[index % len(DIALECTS)],
            (index + index // len(DIALECTS)) % 2 == 0, start, kinetics, list(sites), resistant_site,
            truncal_variants, germline, chip, setting=spec.name, arm=spec.arm, cancer_type=spec.cancer_type,
            regimen=tuple(regimen), annotation=spec.annotations[count % len(spec.annotations)],
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
        write_vcf(path, patient.dialect, draw, variants, patient.annotation)
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
        patient.setting or patient.drug, patient.arm, patient.cancer_type, patient.annotation or "none",
        ";".join(patient.truncal_kb),
    ]  # fmt: skip


def event_rows(patient: Patient) -> list[list]:
    rows = [[patient.id, patient.therapy_start.isoformat(), "therapy_start", drug] for drug in (patient.regimen or (patient.drug,))]
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


def build_cohort(n_patients: int, seed: int, kb_path, truncal_path, settings="legacy", drugs_path=None):
    """The cohort's patients (with their true kinetics) and site error rates, before any read is drawn.

    Returns (rng, patients, rates); `simulate_cohort` continues drawing reads from that rng.
    `settings`: "legacy" (default), "all", or a list of catalogue names (see `resolve_settings`).
    `drugs_path`: the drug table that decides which rows are resistance to a regimen (as the workflow
    does); by default `drugs.tsv` next to the knowledge base, when there is one.
    """
    rng, patients, rates, _ = _build(n_patients, seed, kb_path, truncal_path, settings, drugs_path)
    return rng, patients, rates


def _build(n_patients, seed, kb_path, truncal_path, settings, drugs_path=None):
    rng = np.random.default_rng(seed)
    if drugs_path is None and (Path(kb_path).parent / "drugs.tsv").is_file():
        drugs_path = Path(kb_path).parent / "drugs.tsv"
    drug_table = DrugTable(drugs_path) if drugs_path is not None else None
    active = resolve_settings(KnowledgeBase(kb_path), settings, drug_table)
    for setting in active:
        if setting.status != "run" or setting.message:
            print(f"simulate: setting {setting.spec.name}: {setting.status}; {setting.message}", file=sys.stderr)
    if not any(setting.status == "run" for setting in active):
        raise ValueError("no setting of the catalogue can run with this knowledge base")
    truncal = truncal_sites(truncal_path)
    rates, _ = cohort_error_rates(rng, active, truncal)
    patients = make_patients(rng, n_patients, seed, active, truncal, rates)
    return rng, patients, rates, active


def setting_rows(active: list[ActiveSetting]) -> list[list]:
    return [
        [s.spec.name, s.spec.arm, s.spec.cancer_type, ";".join("+".join(r) for r, _ in s.regimens) or "",
         ";".join(site.kb_id for site in s.sites), s.status, s.message]
        for s in active
    ]  # fmt: skip


def simulate_cohort(out_dir, n_patients: int, seed: int, kb_path, truncal_path, settings="legacy", drugs_path=None) -> Path:
    """Write the cohort (VCFs, samples.tsv, events.tsv) and its truth under `out_dir`.

    Also `settings.tsv`: which catalogue settings ran, their regimens and sites, and which were
    skipped and why.
    """
    out_dir = Path(out_dir)
    (out_dir / "vcf").mkdir(parents=True, exist_ok=True)
    rng, patients, rates, active = _build(n_patients, seed, kb_path, truncal_path, settings, drugs_path)
    sample_rows, events, truth = [], [], []
    for patient in patients:
        sample_rows += [row + [patient.cancer_type] for row in write_patient(rng, patient, out_dir, rates)]
        events += event_rows(patient)
        truth.append(truth_row(patient))
    _write_tsv(out_dir / "samples.tsv", SAMPLE_COLUMNS, sample_rows)
    _write_tsv(out_dir / "events.tsv", ["patient", "date", "event", "value"], events)
    _write_tsv(out_dir / "truth.tsv", TRUTH_COLUMNS, truth)
    _write_tsv(out_dir / "true_background.tsv", BACKGROUND_COLUMNS, background_rows(patients, rates))
    _write_tsv(out_dir / "settings.tsv", SETTING_COLUMNS, setting_rows(active))
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
    parser.add_argument("--drugs", default=None, help="drug table (default: drugs.tsv next to the knowledge base)")
    parser.add_argument(
        "--settings", nargs="+", default=["legacy"],
        help="'legacy' (the six original settings), 'all' (the whole catalogue) or catalogue names",
    )  # fmt: skip
    args = parser.parse_args(argv)
    settings = args.settings[0] if args.settings in (["legacy"], ["all"]) else args.settings
    print(simulate_cohort(args.out_dir, args.patients, args.seed, args.knowledgebase, args.truncal, settings, args.drugs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

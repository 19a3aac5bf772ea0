"""The embedded demo cohort: a small, deterministic, synthetic set of patients.

Every patient follows a written scenario (VAF per draw for each variant); read
counts are drawn from a seeded random generator with a per-base sequencing error,
and each draw is written in the dialect of one caller. Variant coordinates come
from the knowledge base and from `resources/demo/truncal_variants.tsv`, both of
which carry their public sources, so nothing here is a remembered coordinate.

Scenarios (GRCh38):
- DEMO-P01 NSCLC, erlotinib then osimertinib; EGFR T790M emerges and rises months before
  the PD scan; under osimertinib T790M is the drug's target and raises nothing (Mutect2 + VEP, force-called).
- DEMO-P02 CRC, cetuximab; KRAS G12D emerges under the anti-EGFR antibody while truncal APC/TP53
  fall then rise (molecular progression); each draw also has a BAM, whose counts fill the sites the
  sparse VCF is silent about; a BRAF V600E
  hotspot shows 2 noise reads at ~5,000x and must not alert (VarDict + SnpEff, sparse).
- DEMO-P03 breast, letrozole; responder whose PIK3CA/TP53 clear to not detected (Strelka2, force-called).
- DEMO-P04 CML, imatinib then ponatinib; ABL1 T315I pre-existing at baseline (FreeBayes + bcftools csq).
- DEMO-P05 GIST without therapy records; KIT D816V appears (vendor VAF-only reports, then VarScan2).
- DEMO-P06 CRC, encorafenib + cetuximab; BRAF V600E is encorafenib's target, so it never alerts
  (bcftools call with AD + bcftools csq).
- DEMO-P07 melanoma on nivolumab + ipilimumab (one events row, "nivolumab + ipilimumab"); BRAF V600E and
  an emerging NRAS G12D match knowledge-base rows whose evidence is for anti-EGFR antibodies in colorectal
  cancer: visible in the timeline, no resistance alert (Mutect2 + VEP, force-called).
Each patient has a cancer type (OncoTree code) in the sample sheet.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .knowledgebase import KnowledgeBase
from .vcf_writer import SimVariant, write_bam, write_vcf

SEED = 20261122
ERROR_RATE = 2e-4  # per-base error of the simulated assay


@dataclass(frozen=True)
class Scenario:
    patient: str
    dialect: str
    annotation: str | None
    force_called: bool
    depth: int
    start: str  # date of the first draw
    draw_days: tuple[int, ...]
    vafs: dict  # variant reference ("kb:ID" or "truncal:GENE:PROTEIN") -> VAF per draw
    events: tuple  # (day, event, value)
    noise: dict | None = None  # variant reference -> {draw index: alt reads}
    dialect_by_draw: tuple | None = None
    bam: bool = False  # also write each draw's reads at its variant sites as a BAM
    cancer_type: str = ""  # OncoTree code written to the sample sheet's cancer_type column


SCENARIOS = (
    Scenario(
        "DEMO-P01", "mutect2", "vep", True, 3000, "2025-01-06",
        (0, 32, 60, 95, 123, 158, 186, 228, 270),
        {
            "truncal:EGFR:L858R": (0.08, 0.02, 0.006, 0.004, 0.005, 0.009, 0.016, 0.035, 0.012),
            "truncal:TP53:R273H": (0.06, 0.015, 0.004, 0.003, 0.004, 0.007, 0.012, 0.03, 0.01),
            "kb:EGFR_T790M": (0.0, 0.0, 0.0, 0.0, 0.005, 0.012, 0.02, 0.03, 0.012),
        },
        ((4, "therapy_start", "Erlotinib"), (63, "scan", "PR"), (147, "scan", "SD"),
         (231, "scan", "PD"), (234, "therapy_end", "erlotinib"), (238, "therapy_start", "Tagrisso")),
        cancer_type="LUAD",
    ),
    Scenario(
        "DEMO-P02", "vardict", "snpeff", False, 1500, "2025-02-01",
        (0, 30, 62, 93, 121, 156, 184, 212, 247),
        {
            "truncal:APC:R1450*": (0.05, 0.012, 0.003, 0.002, 0.0025, 0.005, 0.01, 0.02, 0.04),
            "truncal:TP53:R175H": (0.045, 0.01, 0.0025, 0.0015, 0.002, 0.004, 0.009, 0.018, 0.035),
            "kb:KRAS_G12D": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0025, 0.006, 0.012, 0.025),
        },
        ((2, "therapy_start", "cetuximab"), (65, "scan", "PR"), (156, "scan", "SD"), (247, "scan", "PD")),
        noise={"kb:BRAF_V600E": {2: 2, 6: 1}},
        bam=True,
        cancer_type="COADREAD",
    ),
    Scenario(
        "DEMO-P03", "strelka2", None, True, 2500, "2025-03-03",
        (0, 35, 70, 105, 140, 175),
        {
            "truncal:PIK3CA:H1047R": (0.04, 0.006, 0.001, 0.0, 0.0, 0.0),
            "truncal:TP53:R273H": (0.03, 0.004, 0.0008, 0.0, 0.0, 0.0),
        },
        ((3, "therapy_start", "letrozole"), (84, "scan", "PR"), (168, "scan", "PR")),
        cancer_type="BRCA",
    ),
    Scenario(
        "DEMO-P04", "freebayes", "bcsq", False, 2000, "2025-01-20",
        (0, 28, 56, 91, 119, 154),
        {"kb:ABL1_T315I": (0.02, 0.035, 0.09, 0.2, 0.05, 0.01)},
        ((5, "therapy_start", "imatinib"), (84, "scan", "PD"), (95, "therapy_end", "imatinib"),
         (96, "therapy_start", "ponatinib")),
        cancer_type="CML",
    ),
    Scenario(
        "DEMO-P05", "vaf_only", "vep", False, 1500, "2025-04-07",
        (0, 42, 84, 126),
        {
            "truncal:PIK3CA:E545K": (0.012, 0.01, 0.015, 0.02),
            "kb:KIT_D816V": (0.0, 0.006, 0.012, 0.025),
        },
        (),
        dialect_by_draw=("vaf_only", "vaf_only", "varscan2", "varscan2"),
        cancer_type="GIST",
    ),
    Scenario(
        "DEMO-P06", "bcftools", "bcsq", False, 2500, "2025-05-05",
        (0, 30, 60, 90, 120),
        {
            "kb:BRAF_V600E": (0.06, 0.01, 0.003, 0.008, 0.03),
            "truncal:TP53:R175H": (0.05, 0.008, 0.002, 0.007, 0.025),
        },
        ((3, "therapy_start", "encorafenib"), (3, "therapy_start", "cetuximab"), (63, "scan", "PR"),
         (124, "scan", "PD")),
        cancer_type="COADREAD",
    ),
    Scenario(
        "DEMO-P07", "mutect2", "vep", True, 2500, "2025-06-02",
        (0, 35, 70, 105, 140),
        {
            "kb:BRAF_V600E": (0.04, 0.008, 0.004, 0.01, 0.03),
            "kb:NRAS_G12D": (0.0, 0.0, 0.004, 0.012, 0.03),
        },
        ((4, "therapy_start", "nivolumab + ipilimumab"), (66, "scan", "PR"), (130, "scan", "PD")),
        cancer_type="SKCM",
    ),
)  # fmt: skip


def load_truncal(path) -> dict:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")]
    return {f"truncal:{r['gene']}:{r['protein_change']}": r for r in rows}


def _variant_template(ref: str, kb: KnowledgeBase, truncal: dict) -> SimVariant:
    if ref.startswith("kb:"):
        entry = kb.entries[ref[3:]]
        if "GRCh38" not in entry.coords:
            raise ValueError(f"{ref} has no verified GRCh38 coordinate; the demo cannot place it")
        chrom, pos, r, a = entry.coords["GRCh38"]
        row = kb.rows[entry.id]
        return SimVariant(chrom, pos, r, a, 0, 0, entry.gene, entry.protein_change, row["transcript"], row["hgvs_c"])
    row = truncal[ref]
    return SimVariant(
        row["grch38_chrom"], int(row["grch38_pos"]), row["grch38_ref"], row["grch38_alt"], 0, 0,
        row["gene"], row["protein_change"], row["transcript"], row["hgvs_c"],
    )  # fmt: skip


def make_demo(out_dir, kb_path, truncal_path, seed: int = SEED) -> Path:
    """Write VCFs, samples.tsv and events.tsv of the demo cohort under `out_dir`."""
    out_dir = Path(out_dir)
    (out_dir / "vcf").mkdir(parents=True, exist_ok=True)
    kb, truncal = KnowledgeBase(kb_path), load_truncal(truncal_path)
    rng = np.random.default_rng(seed)
    sample_rows, event_rows = [], []
    for scenario in SCENARIOS:
        start = dt.date.fromisoformat(scenario.start)
        templates = {ref: _variant_template(ref, kb, truncal) for ref in [*scenario.vafs, *(scenario.noise or {})]}
        for index, day in enumerate(scenario.draw_days):
            draw = f"{scenario.patient}-D{index + 1}"
            dialect = scenario.dialect_by_draw[index] if scenario.dialect_by_draw else scenario.dialect
            variants, all_sites = [], []
            for ref, template in templates.items():
                depth = int(rng.normal(scenario.depth, scenario.depth * 0.12))
                if ref in scenario.vafs:
                    vaf = scenario.vafs[ref][index]
                    alt = int(rng.binomial(depth, vaf)) + int(rng.binomial(depth, ERROR_RATE / 3))
                else:
                    alt = scenario.noise[ref].get(index, 0)
                all_sites.append(_with_counts(template, alt, depth))
                if alt > 0 or scenario.force_called:
                    variants.append(all_sites[-1])
            suffix = ".vcf.gz" if index % 2 else ".vcf"
            path = out_dir / "vcf" / f"{draw}{suffix}"
            write_vcf(path, dialect, draw, variants, scenario.annotation)
            date = (start + dt.timedelta(days=day)).isoformat()
            vcf_sample = "TUMOR" if dialect in ("strelka2", "varscan2") else ""
            bam = ""
            if scenario.bam:
                (out_dir / "bam").mkdir(exist_ok=True)
                bam = f"bam/{draw}.bam"
                write_bam(out_dir / bam, all_sites, rng)
            sample_rows.append([scenario.patient, draw, date, f"vcf/{path.name}", vcf_sample, bam, scenario.cancer_type])
        for day, event, value in scenario.events:
            event_rows.append([scenario.patient, (start + dt.timedelta(days=day)).isoformat(), event, value])
    _write_tsv(out_dir / "samples.tsv", ["patient", "sample", "date", "vcf", "vcf_sample", "bam", "cancer_type"], sample_rows)
    _write_tsv(out_dir / "events.tsv", ["patient", "date", "event", "value"], event_rows)
    return out_dir


def _with_counts(template: SimVariant, alt: int, depth: int) -> SimVariant:
    return SimVariant(**{**template.__dict__, "alt_reads": alt, "depth": depth})


def _write_tsv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

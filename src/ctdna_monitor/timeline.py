"""Per-patient VAF timelines: every variant seen in any draw, at every draw of that patient."""

from __future__ import annotations

import pandas as pd

from .background import BackgroundModel, BackgroundParams, genotyping_samples
from .knowledgebase import KnowledgeBase
from .stats import DETECTED, NOT_ASSESSABLE, DetectionParams, classify
from .values import to_number, to_text

# Genes whose variants in plasma often come from clonal haematopoiesis (CHIP), not the tumour.
DEFAULT_CHIP_GENES = ("DNMT3A", "TET2", "ASXL1", "PPM1D", "JAK2", "SF3B1", "SRSF2", "CBL", "GNB1", "GNAS", "CHEK2")

TIMELINE_COLUMNS = [
    "patient", "sample", "date", "chrom", "pos", "ref", "alt", "gene", "protein_change",
    "alt_reads", "depth", "vaf", "status", "p_value", "lod", "kb_id",
    "filter", "dialect", "flag", "source", "guard", "error_rate", "dispersion", "background_source",
]  # fmt: skip
KEY = ["chrom", "pos", "ref", "alt"]


def shows_allele(calls: pd.DataFrame) -> pd.Series:
    """A record that shows the variant: alt reads, or a VAF where counts are not given."""
    alt = pd.to_numeric(calls["alt_reads"], errors="coerce")
    vaf = pd.to_numeric(calls["vaf"], errors="coerce")
    return (alt > 0) | (alt.isna() & (vaf > 0))


def build_patient_timeline(
    draws: pd.DataFrame,
    calls: dict[str, pd.DataFrame],
    kb: KnowledgeBase,
    build: str,
    params: DetectionParams,
    background: BackgroundModel,
    chip_genes=DEFAULT_CHIP_GENES,
) -> pd.DataFrame:
    """Timeline rows of one patient.

    `draws` has patient, sample, date (one row per draw); `calls[sample]` the
    per-allele rows the VCF reader produced for that draw.
    """
    draws = draws.sort_values(["date", "sample"], kind="stable")
    per_draw = {}
    for sample in draws["sample"]:
        frame = calls[sample]
        # A VCF may list the same allele twice (duplicated records); keep the first.
        per_draw[sample] = frame.drop_duplicates(subset=KEY, keep="first").set_index(KEY, drop=False)
    seen = pd.concat([f[shows_allele(f)] for f in per_draw.values()] or [pd.DataFrame(columns=KEY)])
    if seen.empty:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    variants = seen.reset_index(drop=True).drop_duplicates(subset=KEY).sort_values(["chrom", "pos", "ref", "alt"])
    rows = []
    for variant in variants.itertuples(index=False):
        key = (variant.chrom, variant.pos, variant.ref, variant.alt)
        gene, protein = _annotation(per_draw, key)
        kb_id = kb.match(build, *key, gene=gene, protein_change=protein)
        if kb_id and not (gene and protein):
            gene, protein = kb.entries[kb_id].gene, kb.entries[kb_id].protein_change
        null = background.null(key, draws["patient"].iloc[0])
        variant_rows = []
        for draw in draws.itertuples(index=False):
            frame = per_draw[draw.sample]
            base = {
                "patient": draw.patient, "sample": draw.sample, "date": draw.date,
                "chrom": key[0], "pos": key[1], "ref": key[2], "alt": key[3],
                "gene": gene, "protein_change": protein, "kb_id": kb_id, "error_rate": null.error_rate,
                "dispersion": null.dispersion, "background_source": null.source,
            }  # fmt: skip
            if key in frame.index:
                call = frame.loc[key]
                detection = classify(
                    to_number(call["alt_reads"]), to_number(call["depth"]), to_number(call["vaf"]), params,
                    null.error_rate, null.dispersion,
                )  # fmt: skip
                base.update(
                    alt_reads=to_number(call["alt_reads"]), depth=to_number(call["depth"]), vaf=to_number(call["vaf"]),
                    status=detection.status, p_value=detection.p_value, lod=detection.lod,
                    filter=call["filter"], dialect=call["dialect"], flag=call["flag"], source=call.get("source", "vcf"),
                )  # fmt: skip
            else:
                # Absent from a sparse VCF: the file says nothing about the depth there.
                base.update(
                    alt_reads=None, depth=None, vaf=None, status=NOT_ASSESSABLE, p_value=None, lod=None,
                    filter="", dialect="", flag="absent_from_vcf", source="",
                )  # fmt: skip
            variant_rows.append(base)
        guard = variant_guard(variant_rows, gene, chip_genes)
        rows.extend({**row, "guard": guard} for row in variant_rows)
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def variant_guard(rows: list[dict], gene: str, chip_genes) -> str:
    """'chip_gene' or 'germline_like' for variants that do not measure the tumour, else ''.

    Germline-like: every detected draw sits near 50% or every one near 100%.
    """
    if gene and gene.upper() in {g.upper() for g in chip_genes}:
        return "chip_gene"
    vafs = [r["vaf"] for r in rows if r["status"] == DETECTED and r["vaf"] is not None]
    if vafs and (all(0.3 <= v <= 0.7 for v in vafs) or all(v >= 0.85 for v in vafs)):
        return "germline_like"
    return ""


def _annotation(per_draw, key) -> tuple[str, str]:
    gene = protein = ""
    for frame in per_draw.values():
        if key in frame.index:
            call = frame.loc[key]
            gene = gene or to_text(call["gene"])
            protein = protein or to_text(call["protein_change"])
    return gene, protein




def add_bam_counts(calls: pd.DataFrame, bam_counts: pd.DataFrame) -> pd.DataFrame:
    """A draw's VCF calls plus BAM counts at sites the VCF is silent about (source 'bam')."""
    calls = calls.assign(source="vcf")
    if bam_counts is None or bam_counts.empty:
        return calls
    present = set(zip(calls.chrom, calls.pos.astype(int), calls.ref, calls.alt))
    keys = zip(bam_counts.chrom, bam_counts.pos.astype(int), bam_counts.ref, bam_counts.alt)
    extra = bam_counts[[k not in present for k in keys]]
    if extra.empty:
        return calls
    extra = extra.assign(gene="", protein_change="", filter="", dialect="bam", flag="", source="bam")
    return pd.concat([calls, extra[calls.columns]], ignore_index=True)


def observations(samples: pd.DataFrame, calls: dict[str, pd.DataFrame], bam_counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Unbiased counts for the background: every BAM count of draws that have a BAM, and the VCF
    rows of the other draws when their patient's pipeline force-calls sites."""
    patient_of = dict(zip(samples["sample"], samples["patient"]))
    date_of = dict(zip(samples["sample"], samples["date"]))
    columns = ["patient", "sample", "date", *KEY, "alt_reads", "depth"]
    with_bam = set() if bam_counts is None or bam_counts.empty else set(bam_counts["sample"])
    frames = [
        frame[frame.get("source", pd.Series("vcf", index=frame.index)) == "vcf"].assign(
            sample=sample, patient=patient_of[sample], date=date_of[sample]
        )
        for sample, frame in calls.items()
        if len(frame) and sample not in with_bam
    ]
    frames = [f for f in frames if len(f)]
    vcf_rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    if len(vcf_rows):
        vcf_rows = vcf_rows[vcf_rows["sample"].isin(genotyping_samples(vcf_rows))]
    parts = [vcf_rows[columns]]
    if with_bam:
        bam = bam_counts.assign(patient=bam_counts["sample"].map(patient_of), date=bam_counts["sample"].map(date_of))
        parts.append(bam[columns])
    return pd.concat(parts, ignore_index=True)


def build_timeline(
    samples: pd.DataFrame, calls, kb, build, params, background=None, chip_genes=DEFAULT_CHIP_GENES
) -> pd.DataFrame:
    """Timeline of the whole cohort, patient by patient."""
    if background is None:
        background = BackgroundModel(BackgroundParams(), observations(samples, calls))
    parts = [
        build_patient_timeline(group, calls, kb, build, params, background, chip_genes)
        for _, group in samples.groupby("patient", sort=True)
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    return pd.concat(parts, ignore_index=True)

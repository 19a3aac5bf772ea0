"""Per-patient VAF timelines: every variant seen in any draw, at every draw of that patient."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .background import BackgroundModel, BackgroundParams, genotyping_samples
from .stats import DETECTED, NOT_ASSESSABLE, classify_many
from .values import to_text

# Genes whose variants in plasma often come from clonal haematopoiesis (CHIP), not the tumour.
DEFAULT_CHIP_GENES = ("DNMT3A", "TET2", "ASXL1", "PPM1D", "JAK2", "SF3B1", "SRSF2", "CBL", "GNB1", "GNAS", "CHEK2")

TIMELINE_COLUMNS = [
    "patient", "sample", "date", "chrom", "pos", "ref", "alt", "gene", "protein_change",
    "alt_reads", "depth", "vaf", "status", "p_value", "lod", "kb_id",
    "filter", "dialect", "flag", "source", "guard", "error_rate", "dispersion", "background_source",
    "background_flag",
]  # fmt: skip
KEY = ["chrom", "pos", "ref", "alt"]


def shows_allele(calls: pd.DataFrame) -> pd.Series:
    """A record that shows the variant: alt reads, or a VAF where counts are not given."""
    alt = pd.to_numeric(calls["alt_reads"], errors="coerce")
    vaf = pd.to_numeric(calls["vaf"], errors="coerce")
    return (alt > 0) | (alt.isna() & (vaf > 0))


def _timeline(draws, calls, kb, build, params, background, chip_genes) -> pd.DataFrame:
    """Timeline rows of the patients of `draws`: every variant a patient's VCFs show, at each of its draws.

    Rows are ordered by patient, variant (chrom, pos, ref, alt) and draw (date, sample). Statistics
    are computed for all rows at once (stats.classify_many).
    """
    draws = draws[["patient", "sample", "date"]].sort_values(["patient", "date", "sample"], kind="stable")
    draws = draws.assign(_order=range(len(draws))).reset_index(drop=True)
    frames = []
    for sample, order in zip(draws["sample"], draws["_order"]):
        frame = calls[sample].drop(columns=["patient", "sample", "_order"], errors="ignore")
        if len(frame):
            frames.append(frame.assign(sample=sample, _order=order))
    if not frames:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    # A VCF may list the same allele twice (duplicated records); keep the first of each draw.
    table = pd.concat(frames, ignore_index=True).drop_duplicates(subset=["_order", *KEY], keep="first")
    table = table.reset_index(drop=True)
    table["pos"] = table["pos"].astype(int)
    if "source" not in table:
        table["source"] = "vcf"
    table = table.merge(draws[["sample", "patient"]], on="sample", how="left")
    for column in ("alt_reads", "depth", "vaf"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)

    # The variants of each patient: alleles shown (alt reads, or a VAF without counts) in any draw.
    shown = table[shows_allele(table)]
    if shown.empty:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    variants = shown[["patient", *KEY]].drop_duplicates().sort_values(["patient", *KEY], kind="stable")
    variants = variants.reset_index(drop=True)
    annotated = _annotations(table.merge(variants, on=["patient", *KEY]))
    variants = variants.merge(annotated, on=["patient", *KEY], how="left").fillna({"gene": "", "protein_change": ""})
    chip = {g.upper() for g in chip_genes}
    variant_info = []
    for patient, chrom, pos, ref, alt, gene, protein in variants[["patient", *KEY, "gene", "protein_change"]].itertuples(
        index=False, name=None
    ):
        key = (chrom, pos, ref, alt)
        kb_id = kb.match(build, *key, gene=gene, protein_change=protein)
        if kb_id and not (gene and protein):
            gene, protein = kb.entries[kb_id].gene, kb.entries[kb_id].protein_change
        null = background.null(key, patient)
        guard = "chip_gene" if gene and gene.upper() in chip else ""
        variant_info.append((gene, protein, kb_id, null.error_rate, null.dispersion, null.source, guard, background.flag(key)))
    info = pd.DataFrame(variant_info, columns=["gene", "protein_change", "kb_id", "error_rate", "dispersion",
                                               "background_source", "guard", "background_flag"])  # fmt: skip
    variants = pd.concat([variants[["patient", *KEY]], info], axis=1).assign(_variant=range(len(variants)))

    # Every variant at every draw of its patient; the draw's call where its VCF has one.
    grid = variants.merge(draws, on="patient")
    call_columns = ["sample", *KEY, "alt_reads", "depth", "vaf", "filter", "dialect", "flag", "source"]
    grid = grid.merge(table[call_columns], on=["sample", *KEY], how="left", indicator=True)
    present = (grid.pop("_merge") == "both").to_numpy()
    # The draw's own error: its draw factor (bursts, run batches), or its row of a per-draw table.
    grid["error_rate"], grid["dispersion"], grid["background_source"] = background.per_draw(
        grid[KEY].itertuples(index=False, name=None), grid["sample"], grid["error_rate"], grid["dispersion"],
        grid["background_source"], grid["patient"], grid["date"],
    )  # fmt: skip
    status, p_value, lod = classify_many(
        grid["alt_reads"], grid["depth"], grid["vaf"], params, grid["error_rate"], grid["dispersion"]
    )
    # Absent from a sparse VCF: the file says nothing about the depth there.
    grid["status"] = np.where(present, status, NOT_ASSESSABLE)
    grid["p_value"] = np.where(present, p_value, np.nan)
    grid["lod"] = np.where(present, lod, np.nan)
    for column in ("filter", "dialect", "source"):
        grid[column] = grid[column].where(present, "")
    grid["flag"] = grid["flag"].where(present, "absent_from_vcf")
    grid["guard"] = _guards(grid)
    grid = grid.sort_values(["_variant", "_order"], kind="stable")
    return grid[TIMELINE_COLUMNS].reset_index(drop=True)


def _annotations(calls: pd.DataFrame) -> pd.DataFrame:
    """Per (patient, variant): the first gene and the first protein change its calls name, in draw order."""
    ordered = calls.sort_values("_order", kind="stable")
    parts = []
    for column in ("gene", "protein_change"):
        text = ordered[column].map(to_text)
        named = ordered.assign(**{column: text})[text != ""]
        parts.append(named.groupby(["patient", *KEY], sort=False)[column].first())
    return pd.concat(parts, axis=1).reset_index() if any(len(p) for p in parts) else pd.DataFrame(
        columns=["patient", *KEY, "gene", "protein_change"]
    )


def _guards(grid: pd.DataFrame) -> pd.Series:
    """The guard of each row's variant: 'chip_gene' (set per variant) or 'germline_like' (see variant_guard)."""
    detected = grid[(grid["status"] == DETECTED) & grid["vaf"].notna()]
    vaf = detected["vaf"].astype(float)
    by_variant = pd.DataFrame(
        {"_variant": detected["_variant"], "mid": vaf.between(0.3, 0.7), "high": vaf >= 0.85}
    ).groupby("_variant")[["mid", "high"]].all()
    germline = set(by_variant.index[by_variant["mid"] | by_variant["high"]])
    like = grid["_variant"].isin(germline) & (grid["guard"] == "")
    return grid["guard"].where(~like, "germline_like")


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
    frames = [frame for sample, frame in calls.items() if len(frame) and sample not in with_bam]
    samples_of = [sample for sample, frame in calls.items() if len(frame) and sample not in with_bam]
    if frames:
        # One concatenation, then vectorised filtering (row order: draws in `calls` order, as before).
        vcf_rows = pd.concat(frames, ignore_index=True)
        vcf_rows["sample"] = np.repeat(samples_of, [len(f) for f in frames])
        source = vcf_rows["source"] if "source" in vcf_rows else pd.Series("vcf", index=vcf_rows.index)
        vcf_rows = vcf_rows[(source == "vcf").to_numpy()].reset_index(drop=True)
        vcf_rows["patient"] = vcf_rows["sample"].map(patient_of)
        vcf_rows["date"] = vcf_rows["sample"].map(date_of)
    else:
        vcf_rows = pd.DataFrame(columns=columns)
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
    """Timeline of the whole cohort: patients in order, each with its variants at each of its draws."""
    if background is None:
        background = BackgroundModel(BackgroundParams(), observations(samples, calls))
    return _timeline(samples, calls, kb, build, params, background, tuple(chip_genes))

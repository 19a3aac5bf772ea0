"""Per-patient VAF timelines: every variant seen in any draw, at every draw of that patient."""

from __future__ import annotations

import pandas as pd

from .knowledgebase import KnowledgeBase
from .stats import NOT_ASSESSABLE, DetectionParams, classify
from .values import to_number, to_text

TIMELINE_COLUMNS = [
    "patient", "sample", "date", "chrom", "pos", "ref", "alt", "gene", "protein_change",
    "alt_reads", "depth", "vaf", "status", "p_value", "lod", "kb_id",
    "filter", "dialect", "flag", "source",
]  # fmt: skip
KEY = ["chrom", "pos", "ref", "alt"]


def _has_evidence(calls: pd.DataFrame) -> pd.Series:
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
    seen = pd.concat([f[_has_evidence(f)] for f in per_draw.values()] or [pd.DataFrame(columns=KEY)])
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
        for draw in draws.itertuples(index=False):
            frame = per_draw[draw.sample]
            base = {
                "patient": draw.patient, "sample": draw.sample, "date": draw.date,
                "chrom": key[0], "pos": key[1], "ref": key[2], "alt": key[3],
                "gene": gene, "protein_change": protein, "kb_id": kb_id,
            }  # fmt: skip
            if key in frame.index:
                call = frame.loc[key]
                detection = classify(to_number(call["alt_reads"]), to_number(call["depth"]), to_number(call["vaf"]), params)
                base.update(
                    alt_reads=to_number(call["alt_reads"]), depth=to_number(call["depth"]), vaf=to_number(call["vaf"]),
                    status=detection.status, p_value=detection.p_value, lod=detection.lod,
                    filter=call["filter"], dialect=call["dialect"], flag=call["flag"], source="vcf",
                )  # fmt: skip
            else:
                # Absent from a sparse VCF: the file says nothing about the depth there.
                base.update(
                    alt_reads=None, depth=None, vaf=None, status=NOT_ASSESSABLE, p_value=None, lod=None,
                    filter="", dialect="", flag="absent_from_vcf", source="",
                )  # fmt: skip
            rows.append(base)
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def _annotation(per_draw, key) -> tuple[str, str]:
    gene = protein = ""
    for frame in per_draw.values():
        if key in frame.index:
            call = frame.loc[key]
            gene = gene or to_text(call["gene"])
            protein = protein or to_text(call["protein_change"])
    return gene, protein




def build_timeline(samples: pd.DataFrame, calls, kb, build, params) -> pd.DataFrame:
    """Timeline of the whole cohort, patient by patient."""
    parts = [
        build_patient_timeline(group, calls, kb, build, params)
        for _, group in samples.groupby("patient", sort=True)
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    return pd.concat(parts, ignore_index=True)

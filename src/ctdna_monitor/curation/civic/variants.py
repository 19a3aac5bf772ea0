"""CIViC VariantSummaries: variants, their VCF-style coordinates and the GRCh37 -> GRCh38 lift."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from ...errors import InputError
from ...variants import canonical_chrom
from ..liftover import lift_position
from .tables import VARIANT_ALIASES, columns, read_civic_tsv, to_int

BUILDS = ("GRCh37", "GRCh38")
# Pre-2023 VariantSummaries wrote several assertion URLs tab-separated into the last column (seen in
# griffithlab/civic-server public/downloads/nightly/nightly-VariantSummaries.tsv, variant 12 BRAF V600E:
# 32 fields under a 28-column header); those surplus fields are folded back into that column.
_TAB_JOINED_LAST = "assertion_civic_urls"
_BASES = re.compile(r"^[ACGT]+$")


@dataclass
class Variant:
    variant_id: int
    gene: str
    name: str
    chrom: str
    start: int | None
    stop: int | None
    ref: str
    alt: str
    build: str
    hgvs: tuple[str, ...]


def read_variants(path):
    """VariantSummaries: variants by id, by single-variant molecular profile id and by 'GENE VARIANT' name."""
    header, rows = read_civic_tsv(path, "VariantSummaries", fold_last=_TAB_JOINED_LAST)
    cols = columns(path, header, VARIANT_ALIASES, "VariantSummaries")
    hgvs_col = next((n for n in ("hgvs_descriptions", "hgvs_expressions") if n in header), None)
    svmp_col = "single_variant_molecular_profile_id" if "single_variant_molecular_profile_id" in header else None
    by_id, by_profile, by_name = {}, {}, defaultdict(list)
    for line, row in rows:
        get = {key: row[name] for key, name in cols.items()}
        variant_id = to_int(path, line, cols["variant_id"], get["variant_id"])
        if variant_id in by_id:
            raise InputError(path, f"variant_id {variant_id} appears twice", row=line, column=cols["variant_id"])
        start = to_int(path, line, cols["start"], get["start"]) if get["start"] else None
        stop = to_int(path, line, cols["stop"], get["stop"]) if get["stop"] else None
        hgvs = tuple(h.strip() for h in row[hgvs_col].split(",") if h.strip()) if hgvs_col else ()
        variant = Variant(variant_id, get["gene"].upper(), get["variant"], get["chromosome"], start, stop,
                          get["reference_bases"].upper(), get["variant_bases"].upper(), get["reference_build"], hgvs)
        by_id[variant_id] = variant
        if svmp_col and row[svmp_col]:
            by_profile[to_int(path, line, svmp_col, row[svmp_col])] = variant
        by_name[f"{variant.gene} {variant.name}".upper()].append(variant)
    return by_id, (by_profile if svmp_col else None), by_name


# ------------------------------------------------------------------------------------------ coordinates
def civic_coordinate(variant: Variant):
    """(build, chrom, pos, ref, alt) VCF-style, or (None, why not); 'skip' marks variants without any."""
    if not variant.chrom or variant.start is None:
        return None, "skip", "no coordinates in VariantSummaries"
    if not variant.ref and not variant.alt:
        return None, "skip", "no alleles in VariantSummaries (a region or copy-number change, not one allele)"
    where = f"{variant.build or 'no build'} {variant.chrom}:{variant.start}-{variant.stop}"
    if variant.build not in BUILDS:
        return None, "keep", f"reference_build '{variant.build}' is neither GRCh37 nor GRCh38 ({where})"
    if (variant.ref and not _BASES.match(variant.ref)) or (variant.alt and not _BASES.match(variant.alt)):
        return None, "keep", f"alleles '{variant.ref}'>'{variant.alt}' are not plain bases ({where})"
    if len(variant.ref) != len(variant.alt):
        # CIViC leaves the deleted/inserted side empty and gives no anchor base: VCF style needs the
        # reference sequence, so indels go to the placement step (resources/placement) instead
        return None, "keep", f"indel: VCF style needs the base before it from a sequence source ({where})"
    if variant.stop is not None and variant.stop - variant.start + 1 != len(variant.ref):
        span = variant.stop - variant.start + 1
        return None, "keep", f"start-stop spans {span} bases, reference_bases {len(variant.ref)} ({where})"
    return (variant.build, canonical_chrom(variant.chrom), variant.start, variant.ref, variant.alt), "ok", ""


def lift_to_grch38(chain, chrom: str, pos: int, ref: str):
    """GRCh38 (chrom, pos) of a GRCh37 allele by the chain, or (None, reason); every base must lift in step."""
    first = lift_position(chain, chrom, pos)
    last = lift_position(chain, chrom, pos + len(ref) - 1)
    if first is None or last is None:
        return None, "the chain gives no unique GRCh38 position"
    if first[2] != "+" or last[2] != "+":
        return None, "the chain maps it to the minus strand (alleles would need complementing): place by hand"
    if canonical_chrom(first[0]) != canonical_chrom(chrom) or last[1] - first[1] != len(ref) - 1:
        return None, "the chain moves it to another chromosome or changes its length"
    return (canonical_chrom(first[0]), first[1]), ""



"""Variant identity: contig naming and allele trimming, so the same variant matches across draws."""

from __future__ import annotations

_CONCRETE = set("ACGTN")


def canonical_chrom(chrom: str) -> str:
    """'7', 'chr7' and 'CHR7' all become 'chr7'; 'MT'/'chrM' become 'chrM'; other names keep their case."""
    name = str(chrom)
    if name[:3].lower() == "chr":
        name = name[3:]
    if name.upper() in ("M", "MT"):
        return "chrM"
    if name.upper() in ("X", "Y"):
        name = name.upper()
    return f"chr{name}"


def is_concrete_allele(allele: str | None) -> bool:
    """A sequence allele; not '.', '*', '<NON_REF>', '<*>', '<DEL>' or a breakend."""
    return bool(allele) and set(allele.upper()) <= _CONCRETE


def normalise_alleles(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Trim the shared suffix, then the shared prefix (keeping one base), as a split multi-allelic needs.

    Left-alignment in repeats needs the reference genome and is not done here.
    """
    ref, alt = ref.upper(), alt.upper()
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


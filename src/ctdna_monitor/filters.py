"""How a caller's FILTER values enter the decision (config/README.md, "FILTER values").

ctdna-monitor makes its own detection call from the read counts, so a FILTER value that only says the
caller's evidence threshold was not reached (Mutect2 `weak_evidence`, `low_allele_frac`, Strelka2
`LowEVS`, ...) changes nothing: at ctDNA fractions of 0.1-1 % most true calls carry one. Two kinds of
FILTER value say more than the counts can:

- `not_tumour`: the caller has evidence that the allele is not somatic tumour DNA (germline, present in a
  panel of normals or in the matched normal, where clonal haematopoiesis also shows). A variant whose every
  detected record carries one is guarded (never part of the ctDNA level), and a draw whose record carries
  one raises no resistance alert.
- `artifact`: the alt reads look like a sequencing or alignment artifact (strand bias, read orientation,
  low base or mapping quality, read-end position, polymerase slippage). The draw stays `detected`, but a
  resistance alert it raises is `confirmed` only when a later draw detects the variant without one.

Every other value is shown as read and has no effect. Names are matched exactly as callers write them
(Platypus `ab`, an allele-balance filter, is not Pisces `AB`, amplicon bias).
"""

from __future__ import annotations

from dataclasses import dataclass

# Mutect2 names from GATK's GATKVCFConstants (FilterMutectCalls); the others from the FILTER header
# lines of SAGE, DRAGEN, DeepSomatic and bcbio-style Strelka2 files of the shared VCF corpus.
DEFAULT_NOT_TUMOUR = (
    "germline", "panel_of_normals", "normal_artifact",  # Mutect2
    "PON", "PONArtefact", "PONGnomad", "maxGermlineVAF", "maxGermlineAltSupport",  # SAGE
    "alt_allele_in_normal", "non_homref_normal",  # DRAGEN
    "GERMLINE",  # DeepSomatic
    "freq-nor",  # bcbio-style Strelka2: allele frequency in the normal too high
)  # fmt: skip
DEFAULT_ARTIFACT = (
    "strand_bias", "strict_strand", "orientation", "base_qual", "map_qual", "position", "slippage",
    "fragment", "duplicate", "n_ratio",  # Mutect2
    "Bias", "pSTD", "p8",  # VarDict: strand bias, read-position filters
    "sb_fdr",  # LoFreq
    "SB", "AB",  # Pisces: strand bias, amplicon bias
    "sb", "badReads",  # Platypus
    "strandBias", "readStrandBias", "fragmentStrandBias", "minAvgBaseQual", "mapQualRefAltDiff",
    "maxEdgeDistance", "jitter",  # SAGE
    "base_quality", "mapping_quality", "read_position", "fragment_length", "str_contraction",  # DRAGEN
    "Strand_imbalanced", "Fisher_Strand", "Low_qual_pos",  # umiVar2
)  # fmt: skip
PASSING = {"", ".", "PASS"}


def filter_names(text) -> list[str]:
    """The FILTER values of a record ('PASS', '.' and empty give none); ';' or ',' separate them."""
    if not isinstance(text, str):
        return []
    names = (part.strip() for part in text.replace(",", ";").split(";"))
    return [name for name in names if name not in PASSING]


@dataclass(frozen=True)
class FilterPolicy:
    """Which FILTER values say 'not tumour' and which say 'artifact'."""

    not_tumour: frozenset = frozenset(DEFAULT_NOT_TUMOUR)
    artifact: frozenset = frozenset(DEFAULT_ARTIFACT)

    @classmethod
    def from_config(cls, config: dict | None) -> FilterPolicy:
        """From the config's `filters` section (`not_tumour`, `artifact`: lists of FILTER values)."""
        config = config or {}
        return cls(
            frozenset(config.get("not_tumour", DEFAULT_NOT_TUMOUR)), frozenset(config.get("artifact", DEFAULT_ARTIFACT))
        )

    def not_tumour_name(self, text) -> str:
        """The first FILTER value of `text` that says the allele is not tumour DNA, else ''."""
        return next((name for name in filter_names(text) if name in self.not_tumour), "")

    def is_artifact(self, text) -> bool:
        return any(name in self.artifact for name in filter_names(text))

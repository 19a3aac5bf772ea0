"""Gene and protein-change annotations from VEP (CSQ), SnpEff (ANN/EFF) and bcftools csq (BCSQ).

Protein changes are normalised to the short one-letter form used by the knowledge
base: ``p.Thr790Met`` -> ``T790M``, ``p.Glu746_Ala750del`` -> ``E746_A750del``.
"""

from __future__ import annotations

import re
import urllib.parse

THREE_TO_ONE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
    "Sec": "U", "Pyl": "O", "Xaa": "X",
}  # fmt: skip
_THREE_RE = re.compile("|".join(THREE_TO_ONE))
# bcftools csq writes amino-acid changes as "790T>790M".
_BCSQ_AA_RE = re.compile(r"^(\d+)([A-Z*])>(\d+)([A-Z*])$")

ANN_FIELDS = (
    "Allele", "Annotation", "Annotation_Impact", "Gene_Name", "Gene_ID", "Feature_Type",
    "Feature_ID", "Transcript_BioType", "Rank", "HGVS.c", "HGVS.p",
)  # fmt: skip


def short_protein(hgvsp: str | None) -> str:
    """Normalise an HGVS protein change to its short one-letter form ('' if none)."""
    if not hgvsp:
        return ""
    text = urllib.parse.unquote(str(hgvsp).strip())  # VEP URL-escapes '=' as %3D
    if ":" in text:  # ENSP00000275493.2:p.Thr790Met
        text = text.rsplit(":", 1)[1]
    if text.startswith("p."):
        text = text[2:]
    text = text.strip("()")
    if not text or text in {"?", "0", "="}:
        return ""
    match = _BCSQ_AA_RE.match(text)
    if match and match.group(1) == match.group(3):
        return f"{match.group(2)}{match.group(1)}{match.group(4)}"
    return _THREE_RE.sub(lambda m: THREE_TO_ONE[m.group(0)], text)


def parse_format_description(description: str) -> list[str]:
    """Field names of a CSQ/BCSQ-style INFO key from its header description."""
    if "Format:" not in description:
        return []
    spec = description.split("Format:", 1)[1].strip().strip('"').strip()
    # bcftools writes "Format: Consequence|gene|..."; VEP "Format: Allele|Consequence|..."
    return [field.strip() for field in spec.split("|")]


def vep_allele(ref: str, alt: str) -> str:
    """The allele string VEP writes in CSQ for a VCF REF/ALT pair."""
    if len(ref) > 0 and len(alt) > 0 and ref[0] == alt[0] and len(ref) != len(alt):
        trimmed = alt[1:]
        return trimmed if trimmed else "-"
    return alt


class Annotator:
    """Reads gene/protein annotations from the INFO keys a VCF header declares."""

    def __init__(self, header):
        self.csq_fields: list[str] = []
        self.bcsq_fields: list[str] = []
        self.has_ann = "ANN" in header.info
        self.has_eff = "EFF" in header.info
        if "CSQ" in header.info:
            self.csq_fields = parse_format_description(header.info["CSQ"].description or "")
        if "BCSQ" in header.info:
            self.bcsq_fields = parse_format_description(header.info["BCSQ"].description or "")

    @property
    def active(self) -> bool:
        return bool(self.csq_fields or self.bcsq_fields or self.has_ann or self.has_eff)

    def annotate(self, record, ref: str, alt: str, n_alts: int) -> tuple[str, str]:
        """(gene, protein_change) for one ALT allele of a record; empty strings if absent."""
        if not self.active:
            return "", ""
        for reader in (self._from_csq, self._from_ann, self._from_bcsq, self._from_eff):
            gene, protein = reader(record, ref, alt, n_alts)
            if gene or protein:
                return gene, protein
        return "", ""

    @staticmethod
    def _info_entries(record, key) -> list[str]:
        try:
            value = record.info.get(key)
        except (ValueError, KeyError):
            return []
        if value is None:
            return []
        if isinstance(value, str):
            return value.split(",")
        return [str(v) for v in value if v is not None]

    def _from_csq(self, record, ref, alt, n_alts):
        if not self.csq_fields:
            return "", ""
        wanted = {alt, vep_allele(ref, alt)}
        best, best_rank = None, 99
        for entry in self._info_entries(record, "CSQ"):
            values = dict(zip(self.csq_fields, entry.split("|")))
            if n_alts > 1 and values.get("Allele") not in wanted:
                continue
            # Prefer VEP's --pick, then the canonical transcript, then any with a protein change.
            rank = 3
            if values.get("PICK") == "1":
                rank = 0
            elif values.get("CANONICAL") == "YES":
                rank = 1
            elif values.get("HGVSp"):
                rank = 2
            if rank < best_rank:
                best, best_rank = values, rank
        if best is None:
            return "", ""
        gene = best.get("SYMBOL") or best.get("Gene") or ""
        return gene, short_protein(best.get("HGVSp"))

    def _from_ann(self, record, ref, alt, n_alts):
        if not self.has_ann:
            return "", ""
        fallback = ("", "")
        for entry in self._info_entries(record, "ANN"):
            values = dict(zip(ANN_FIELDS, entry.split("|")))
            if values.get("Allele") not in (alt, "") and n_alts > 1:
                continue
            gene, protein = values.get("Gene_Name", ""), short_protein(values.get("HGVS.p"))
            if protein:  # SnpEff sorts by impact: the first with a protein change wins
                return gene, protein
            if gene and not fallback[0]:
                fallback = (gene, "")
        return fallback

    def _from_bcsq(self, record, ref, alt, n_alts):
        if not self.bcsq_fields:
            return "", ""
        for entry in self._info_entries(record, "BCSQ"):
            if entry.startswith("@"):  # reference to a compound consequence elsewhere
                continue
            values = dict(zip(self.bcsq_fields, entry.split("|")))
            dna = values.get("dna_change", "")
            if n_alts > 1 and dna and not dna.endswith(f">{alt}"):
                continue
            gene = values.get("gene", "")
            protein = short_protein(values.get("amino_acid_change", ""))
            if gene or protein:
                return gene, protein
        return "", ""

    def _from_eff(self, record, ref, alt, n_alts):
        if not self.has_eff:
            return "", ""
        for entry in self._info_entries(record, "EFF"):
            if "(" not in entry:
                continue
            fields = entry.split("(", 1)[1].rstrip(")").split("|")
            if len(fields) < 6:
                continue
            aa_change = fields[3].split("/")[0]
            gene = fields[5]
            protein = short_protein(aa_change)
            if protein:
                return gene, protein
        return "", ""

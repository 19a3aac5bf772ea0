"""CIViC ClinicalEvidenceSummaries: accepted resistance evidence grouped per variant and drug."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from ...errors import InputError
from ...knowledgebase import DrugTable
from .tables import EVIDENCE_ALIASES, columns, read_civic_tsv, to_int
from .variants import Variant, civic_coordinate

_COMPLEX_PROFILE = re.compile(r"\b(AND|OR|NOT)\b")
_SUBSTITUTION = re.compile(r"^[A-Z]\d+(?:[A-Z]|\*)$")
_REFSEQ_C = re.compile(r"^(NM_\d+\.\d+):(c\.\S+)$")


@dataclass
class Item:
    eid: int
    pmid: str
    therapy: str  # as written by CIViC
    combination: str  # the EID's other therapies when given in combination
    disease: str
    level: str


@dataclass
class Candidate:
    gene: str
    protein_change: str
    drug: str
    known_drug: bool
    variant_key: tuple
    coordinate: tuple | None
    coordinate_note: str
    variants: dict = field(default_factory=dict)  # CIViC variant id -> Variant
    items: list = field(default_factory=list)
    remarks: list = field(default_factory=list)


def _protein_change(name: str):
    """The one-letter substitution in a CIViC variant name, or the name itself with a remark."""
    base = name.split(" (")[0].strip()
    for text in (base, base.split()[-1] if base.split() else ""):
        if _SUBSTITUTION.match(text):
            return text, "" if text == name else f"protein change taken from the CIViC name '{name}'"
    return name, f"CIViC name '{name}' is not a one-letter substitution: set protein_change by hand"


def refseq_c(variant: Variant):
    for item in variant.hgvs:
        match = _REFSEQ_C.match(item)
        if match:
            return match.group(1), match.group(2)
    return "", ""


class Skips:
    def __init__(self):
        self.rows = []

    def add(self, line, eid, label, reason):
        self.rows.append((line, eid, label, reason))


def _resolve_variant(row, link, variants):
    """The single CIViC variant an evidence row is about, or (None, reason)."""
    by_id, by_profile, by_name = variants
    if link == "variant_id":
        variant = by_id.get(int(row["variant_id"])) if row["variant_id"].isdigit() else None
        return (variant, "") if variant else (None, f"variant_id {row['variant_id']} not in VariantSummaries")
    name = row["molecular_profile"]
    if _COMPLEX_PROFILE.search(name):
        return None, f"multi-variant molecular profile ('{name}')"
    if by_profile is not None:
        variant = by_profile.get(int(row["molecular_profile_id"])) if row["molecular_profile_id"].isdigit() else None
        if variant:
            return variant, ""
        return None, f"molecular profile {row['molecular_profile_id']} is no single variant of VariantSummaries"
    # VariantSummaries of 2022-08..2023-09 have no single_variant_molecular_profile_id: match the display name
    hits = by_name.get(name.upper(), [])
    if len(hits) == 1:
        return hits[0], ""
    return None, f"molecular profile not matched by name in VariantSummaries ('{name}': {len(hits)} rows)"


def read_evidence(path, variants, drug_table: DrugTable, skips: Skips):
    """Candidates keyed by (variant key, drug), the contrary evidence per (variant id, drug), and the header label."""
    header, rows = read_civic_tsv(path, "ClinicalEvidenceSummaries")
    cols = columns(path, header, EVIDENCE_ALIASES, "ClinicalEvidenceSummaries", optional=("interaction",))
    if "molecular_profile_id" in header:
        link, needed = "molecular_profile", ("molecular_profile", "molecular_profile_id")
    else:
        link, needed = "variant_id", ("variant_id",)
    for name in needed:
        if name not in header:
            raise InputError(path, f"no '{name}' column in the header", row=1, column=name,
                             hint="expected CIViC ClinicalEvidenceSummaries (current or pre-2023 header)")
    label = "current (therapies)" if cols["therapies"] == "therapies" else "pre-2023 (drugs)"
    label = f"{label}, {'molecular profiles' if link == 'molecular_profile' else 'variants'}"
    candidates, contrary = {}, defaultdict(list)
    for line, raw in rows:
        row = {key: raw[name] if name else "" for key, name in cols.items()}
        row.update({name: raw[name] for name in needed})
        eid = to_int(path, line, cols["evidence_id"], row["evidence_id"])
        shown = raw.get("molecular_profile") or f"{raw.get('gene', '')} {raw.get('variant', '')}".strip()
        if row["evidence_status"].lower() != "accepted":
            skips.add(line, eid, shown, f"evidence_status '{row['evidence_status']}' (only accepted is imported)")
            continue
        if row["evidence_type"] != "Predictive":
            skips.add(line, eid, shown, f"evidence_type '{row['evidence_type']}'")
            continue
        therapies = [t.strip() for t in row["therapies"].split(",") if t.strip()]
        supports = row["evidence_direction"] == "Supports"
        resistance = row["significance"] == "Resistance"
        variant, why = _resolve_variant(row, link, variants)
        if variant and (resistance and not supports or row["significance"] == "Sensitivity/Response" and supports):
            # evidence against resistance to this drug: kept aside to mark candidates as conflicts
            for therapy in therapies:
                contrary[(variant.variant_id, drug_table.resolve(therapy) or therapy.lower())].append(
                    f"CIViC:EID{eid} ({row['significance']}, {row['evidence_direction']})")
        if not resistance:
            skips.add(line, eid, shown, f"significance '{row['significance']}' (only Resistance is imported)")
            continue
        if not supports:
            skips.add(line, eid, shown, f"evidence_direction '{row['evidence_direction']}'")
            continue
        if not therapies:
            skips.add(line, eid, shown, "no therapy named")
            continue
        if variant is None:
            skips.add(line, eid, shown, why)
            continue
        coordinate, verdict, note = civic_coordinate(variant)
        if verdict == "skip":
            skips.add(line, eid, shown, note)
            continue
        protein, remark = _protein_change(variant.name)
        key = (variant.gene, coordinate) if coordinate else (variant.gene, "civic", variant.variant_id)
        pmid = row["citation_id"] if row["source_type"] == "PubMed" and row["citation_id"].isdigit() else ""
        for therapy in therapies:
            generic = drug_table.resolve(therapy)
            drug = generic or therapy
            cand = candidates.get((key, drug.lower()))
            if cand is None:
                cand = candidates[(key, drug.lower())] = Candidate(
                    variant.gene, protein, drug, generic is not None, key, coordinate, note)
                if remark:
                    cand.remarks.append(remark)
            cand.variants[variant.variant_id] = variant
            partners = [t for t in therapies if t != therapy] if row["interaction"] == "Combination" else []
            disease = f"{row['disease']} (DOID:{row['doid']})" if row["doid"] else row["disease"]
            cand.items.append(Item(eid, pmid, therapy, ", ".join(partners), disease, row["evidence_level"]))
    return candidates, contrary, label, len(rows)



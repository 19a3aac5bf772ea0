"""Candidate knowledge-base rows from a CIViC release, written to a review table (research use only).

`ctdna-monitor-kb import-civic EVIDENCE.tsv VARIANTS.tsv --out REVIEW.tsv` reads CIViC's
ClinicalEvidenceSummaries and VariantSummaries, keeps accepted predictive evidence that supports
resistance, for single variants with coordinates, groups it per variant and drug and compares it with
the existing knowledge base. It never writes the knowledge base: a curator reviews the table.

CIViC header generations (column names as CIViC writes them; read on 2026-11-27):
- current (CIViC v2, molecular profiles), evidence: molecular_profile, molecular_profile_id, disease,
  doid, phenotypes, therapies, therapy_interaction_type, evidence_type, evidence_direction,
  evidence_level, significance, evidence_statement, citation_id, source_type, asco_abstract_id,
  citation, nct_ids, rating, evidence_status, evidence_id, variant_origin, last_review_date,
  evidence_civic_url, molecular_profile_civic_url, is_flagged. Variants: variant_id, variant_civic_url,
  feature_type, feature_id, feature_name, feature_civic_url, variant, variant_aliases, is_flagged,
  variant_groups, variant_types, single_variant_molecular_profile_id, last_review_date, gene, entrez_id,
  chromosome, start, stop, reference_bases, variant_bases, representative_transcript, ensembl_version,
  reference_build, hgvs_descriptions, allele_registry_id, clinvar_ids, then factor/fusion/region columns.
  Source: the exporter itself, griffithlab/civic-v2 server/app/tsv_formatters/evidence_item_tsv_formatter.rb
  and variant_tsv_formatter.rb at commit d289c78f3a0a7d2e33dfddb34fcbe56853b9f286; the same evidence
  header is listed by a third-party parser, opencb/biodata biodata-formats/.../civic/CivicParser.java
  (commit 6efe1d00eb5359b10d88af51335cbfa97d802a7a).
- pre-2023 (CIViC v1, variants), evidence: gene, entrez_id, variant, disease, doid, phenotypes, drugs,
  drug_interaction_type, evidence_type, evidence_direction, evidence_level, clinical_significance,
  evidence_statement, citation_id, source_type, asco_abstract_id, citation, nct_ids, rating,
  evidence_status, evidence_id, variant_id, gene_id, chromosome, start, stop, reference_bases,
  variant_bases, ..., reference_build, ... evidence_civic_url, variant_civic_url, gene_civic_url
  [, is_flagged]. Variants: variant_id, variant_civic_url, gene, entrez_id, variant, summary,
  variant_groups, chromosome, start, stop, reference_bases, variant_bases, representative_transcript,
  ensembl_version, reference_build, chromosome2, start2, stop2, representative_transcript2,
  variant_types, hgvs_expressions, ..., assertion_ids, assertion_civic_urls [, is_flagged].
  Source: the release files griffithlab/civic-server public/downloads/nightly/nightly-*.tsv (commit
  3f50f4de6715c2a5db5068207423f9fdcbcb81bc, files of 2021-02-25) and the civic-v2 exporter at
  d74202acc0a23d2c584ca4dcd66f8c3a87fb5561 (2022-04-27, adds is_flagged).
- Releases between 2022-08 and 2022-12 mix both (molecular_profile columns, still drugs and
  clinical_significance: civic-v2 3b6a745c5, renamed in b999c90dd), and VariantSummaries gained
  single_variant_molecular_profile_id only in 2023-09 (civic-v2 9e96acd37). Columns are therefore looked
  up by alias, and a molecular profile is matched by name ("GENE VARIANT") when that column is absent.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CtdnaError, InputError
from ..knowledgebase import KB_COLUMNS, DrugTable, read_versioned_tsv
from ..variants import canonical_chrom
from .liftover import lift_position

# the review table starts with the knowledge base's own columns, so accepted rows can be copied as they are
KB_V2_COLUMNS = KB_COLUMNS
REVIEW_COLUMNS = ("review_status", "review_reason", "civic_variant", "civic_coordinates", "civic_diseases",
                  "civic_levels", "civic_contrary")  # fmt: skip
STATUSES = ("conflict", "new", "adds_drug", "already_in_kb", "unchecked")

# canonical name -> header names, current first, then pre-2023
EVIDENCE_ALIASES = {
    "evidence_id": ("evidence_id",),
    "evidence_type": ("evidence_type",),
    "evidence_status": ("evidence_status",),
    "evidence_direction": ("evidence_direction",),
    "evidence_level": ("evidence_level",),
    "significance": ("significance", "clinical_significance"),
    "therapies": ("therapies", "drugs"),
    "interaction": ("therapy_interaction_type", "drug_interaction_type"),
    "disease": ("disease",),
    "doid": ("doid",),
    "citation_id": ("citation_id",),
    "source_type": ("source_type",),
}
VARIANT_ALIASES = {
    "variant_id": ("variant_id",),
    "gene": ("gene",),
    "variant": ("variant",),
    "chromosome": ("chromosome",),
    "start": ("start",),
    "stop": ("stop",),
    "reference_bases": ("reference_bases",),
    "variant_bases": ("variant_bases",),
    "reference_build": ("reference_build",),
}
BUILDS = ("GRCh37", "GRCh38")
# Pre-2023 VariantSummaries wrote several assertion URLs tab-separated into the last column (seen in
# griffithlab/civic-server public/downloads/nightly/nightly-VariantSummaries.tsv, variant 12 BRAF V600E:
# 32 fields under a 28-column header); those surplus fields are folded back into that column.
_TAB_JOINED_LAST = "assertion_civic_urls"
_COMPLEX_PROFILE = re.compile(r"\b(AND|OR|NOT)\b")
_SUBSTITUTION = re.compile(r"^[A-Z]\d+(?:[A-Z]|\*)$")
_REFSEQ_C = re.compile(r"^(NM_\d+\.\d+):(c\.\S+)$")
_C_SNV = re.compile(r"^c\.(\d+)([ACGT])>([ACGT])$")
_BASES = re.compile(r"^[ACGT]+$")


# ---------------------------------------------------------------------------------------------- reading
def _read_civic_tsv(path, what: str, fold_last: str | None = None):
    """Header and (line, row) pairs of a CIViC TSV; lines are counted as in the file (header = line 1)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"CIViC {what} file not found", hint="download it from civicdb.org/releases")
    rows = []
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            # CIViC writes with Ruby CSV (col_sep tab): values holding quotes or tabs are double-quoted
            reader = csv.reader(handle, delimiter="\t")
            header = [name.strip() for name in next(reader, [])]
            if not any(header):
                raise InputError(path, f"empty file, expected a CIViC {what} header", row=1)
            width = len(header)
            for fields in reader:
                line = reader.line_num
                if not any(value.strip() for value in fields):
                    continue
                if len(fields) > width and fold_last and header[-1] == fold_last:
                    fields = fields[: width - 1] + [",".join(fields[width - 1 :])]
                if len(fields) > width:
                    raise InputError(path, f"{len(fields)} fields under a {width}-column header", row=line,
                                     column=f"after {header[-1]}", hint="a tab inside a value? re-download the file")
                if len(fields) < width:
                    raise InputError(path, f"{len(fields)} fields under a {width}-column header", row=line,
                                     column=header[len(fields)], hint="the row is cut short; re-download the file")
                rows.append((line, {name: value.strip() for name, value in zip(header, fields)}))
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text ({exc.reason})", hint=f"expected a CIViC {what} TSV") from None
    except csv.Error as exc:
        raise InputError(path, f"unreadable TSV ({exc})", hint=f"expected a CIViC {what} TSV") from None
    return header, rows


def _columns(path, header, aliases, what, optional=()):
    """Map canonical names to the header's names; a missing required column is an error naming both spellings."""
    found = {}
    for key, names in aliases.items():
        name = next((n for n in names if n in header), None)
        if name is None and key not in optional:
            spelled = " or ".join(f"'{n}'" for n in names)
            hint = f"expected CIViC {what}"
            if what == "ClinicalEvidenceSummaries" and "variant_civic_url" in header:
                hint = "this looks like VariantSummaries: give EVIDENCE.tsv first, then VARIANTS.tsv"
            elif what == "VariantSummaries" and "evidence_id" in header:
                hint = "this looks like ClinicalEvidenceSummaries: give EVIDENCE.tsv first, then VARIANTS.tsv"
            raise InputError(path, f"no {spelled} column in the header", row=1, column=names[0], hint=hint)
        found[key] = name
    return found


def _int(path, line, column, text):
    if not text.isdigit():
        raise InputError(path, f"'{text}' is not a whole number", row=line, column=column)
    return int(text)


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
    header, rows = _read_civic_tsv(path, "VariantSummaries", fold_last=_TAB_JOINED_LAST)
    cols = _columns(path, header, VARIANT_ALIASES, "VariantSummaries")
    hgvs_col = next((n for n in ("hgvs_descriptions", "hgvs_expressions") if n in header), None)
    svmp_col = "single_variant_molecular_profile_id" if "single_variant_molecular_profile_id" in header else None
    by_id, by_profile, by_name = {}, {}, defaultdict(list)
    for line, row in rows:
        get = {key: row[name] for key, name in cols.items()}
        variant_id = _int(path, line, cols["variant_id"], get["variant_id"])
        if variant_id in by_id:
            raise InputError(path, f"variant_id {variant_id} appears twice", row=line, column=cols["variant_id"])
        start = _int(path, line, cols["start"], get["start"]) if get["start"] else None
        stop = _int(path, line, cols["stop"], get["stop"]) if get["stop"] else None
        hgvs = tuple(h.strip() for h in row[hgvs_col].split(",") if h.strip()) if hgvs_col else ()
        variant = Variant(variant_id, get["gene"].upper(), get["variant"], get["chromosome"], start, stop,
                          get["reference_bases"].upper(), get["variant_bases"].upper(), get["reference_build"], hgvs)
        by_id[variant_id] = variant
        if svmp_col and row[svmp_col]:
            by_profile[_int(path, line, svmp_col, row[svmp_col])] = variant
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


# -------------------------------------------------------------------------------------------- evidence
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


def _refseq_c(variant: Variant):
    for item in variant.hgvs:
        match = _REFSEQ_C.match(item)
        if match:
            return match.group(1), match.group(2)
    return "", ""


class _Skips:
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


def read_evidence(path, variants, drug_table: DrugTable, skips: _Skips):
    """Candidates keyed by (variant key, drug), the contrary evidence per (variant id, drug), and the header label."""
    header, rows = _read_civic_tsv(path, "ClinicalEvidenceSummaries")
    cols = _columns(path, header, EVIDENCE_ALIASES, "ClinicalEvidenceSummaries", optional=("interaction",))
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
        eid = _int(path, line, cols["evidence_id"], row["evidence_id"])
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


# ---------------------------------------------------------------------------------------- knowledge base
class ExistingKb:
    """The current knowledge base (v1 or v2 columns), indexed by coordinate and by gene + protein change."""

    NEEDED = ("id", "gene", "protein_change", "resistance_to", *(f"{b.lower()}_{k}" for b in BUILDS
                                                                  for k in ("chrom", "pos", "ref", "alt")))

    def __init__(self, path):
        rows, _meta = read_versioned_tsv(path, self.NEEDED, "knowledge base")
        self.by_coord, self.by_protein = defaultdict(list), defaultdict(list)
        for row in rows:
            row["coords"] = {}
            for build in BUILDS:
                parts = [row[f"{build.lower()}_{k}"] for k in ("chrom", "pos", "ref", "alt")]
                if all(parts) and parts[1].isdigit():
                    coord = (canonical_chrom(parts[0]), int(parts[1]), parts[2].upper(), parts[3].upper())
                    row["coords"][build] = coord
                    self.by_coord[(build, *coord)].append(row)
            row["drugs"] = {d.strip().lower() for d in row["resistance_to"].split(",") if d.strip()}
            self.by_protein[(row["gene"].upper(), row["protein_change"])].append(row)


def compare(cand: Candidate, coords: dict, kb: ExistingKb | None):
    """(status, reasons) of a candidate against the knowledge base."""
    if kb is None:
        return "unchecked", ["no --existing knowledge base given: not compared"]
    reasons, status = [], None
    hits = []
    for build, coord in coords.items():
        hits += [r for r in kb.by_coord.get((build, *coord), []) if r not in hits]
    for row in hits:
        if (row["gene"].upper(), row["protein_change"]) != (cand.gene, cand.protein_change):
            status = "conflict"
            reasons.append(f"KB row {row['id']} has this position as {row['gene']} {row['protein_change']}")
        for build, coord in coords.items():
            if build in row["coords"] and row["coords"][build] != coord:
                status = "conflict"
                theirs = ":".join(map(str, row["coords"][build]))
                reasons.append(f"KB row {row['id']} has {build} {theirs}, the import {':'.join(map(str, coord))}")
    if not hits:
        same = kb.by_protein.get((cand.gene, cand.protein_change), [])
        unplaced = [r for r in same if not set(r["coords"]) & set(coords)]
        if same and coords and not unplaced:
            ids = ", ".join(r["id"] for r in same)
            other = f"KB has {cand.gene} {cand.protein_change} as another nucleotide change ({ids})"
            return "new", [f"{other}: a further allele row"]
        hits = unplaced if coords else same
        if hits:
            reasons.append("matched by gene and protein change only (no coordinate to compare)")
    if status:
        return status, reasons
    if not hits:
        return "new", reasons
    ids = ", ".join(r["id"] for r in hits)
    if any(cand.drug.lower() in r["drugs"] for r in hits):
        return "already_in_kb", reasons + [f"KB row {ids} lists {cand.drug}"]
    return "adds_drug", reasons + [f"KB row {ids} exists without {cand.drug}"]


# ------------------------------------------------------------------------------------------------ output
def _placed(cand: Candidate, chain):
    """KB coordinates per build, their coordinate_sources text and a note for any build left empty."""
    coords, sources, notes = {}, [], []
    if cand.coordinate is None:
        return coords, "", [f"not placed: {cand.coordinate_note}"]
    build, chrom, pos, ref, alt = cand.coordinate
    ids = ", ".join(str(i) for i in sorted(cand.variants))
    coords[build] = (chrom, pos, ref, alt)
    sources.append(f"{build}: CIViC VariantSummaries (variant {ids}, reference_build {build})")
    if build == "GRCh38":
        notes.append("GRCh37 left empty: CIViC gives GRCh38 and the project's chain maps GRCh37 to GRCh38 only")
    elif chain is None:
        notes.append("GRCh38 left empty: no --chain given for the GRCh37->GRCh38 liftover")
    else:
        lifted, why = lift_to_grch38(chain, chrom, pos, ref)
        if lifted is None:
            notes.append(f"GRCh38 left empty: {why}")
        else:
            coords["GRCh38"] = (lifted[0], lifted[1], ref, alt)
            sources.append(f"GRCh38: liftover of GRCh37 ({Path(str(chain)).name}); reference base not yet "
                           "checked against a sequence source")
    return coords, " | ".join(sorted(sources, key=lambda s: s[:6] != "GRCh38")), notes


def _item_text(item: Item):
    text = f'CIViC:EID{item.eid} therapy "{item.therapy}"'
    return text + (f' (combination with "{item.combination}")' if item.combination else "")


def _ids(candidates):
    """GENE_PROTEIN, with a nucleotide suffix where one protein change has several CIViC alleles."""
    keys = defaultdict(set)
    for cand in candidates:
        keys[(cand.gene, cand.protein_change)].add(cand.variant_key)
    result = {}
    for cand in candidates:
        base = f"{cand.gene}_{re.sub(r'[^A-Za-z0-9*]+', '_', cand.protein_change)}"
        if len(keys[(cand.gene, cand.protein_change)]) > 1:
            variant = cand.variants[min(cand.variants)]
            match = _C_SNV.match(_refseq_c(variant)[1])
            base += f"_c{match.group(1)}{match.group(2)}{match.group(3)}" if match else f"_civic{variant.variant_id}"
        result[id(cand)] = base
    return result


def review_rows(candidates, contrary, drug_table: DrugTable, kb, chain):
    ids = _ids(candidates)
    rows = []
    for cand in candidates:
        coords, sources, notes = _placed(cand, chain)
        status, reasons = compare(cand, coords, kb)
        drug_key = cand.drug.lower()
        # accepted CIViC evidence against this resistance (sensitivity, or resistance not supported) is shown
        # beside the candidate; it does not set the status, which compares with the knowledge base
        against = sorted({e for v in cand.variants for e in contrary.get((v, drug_key), [])},
                         key=lambda e: int(re.search(r"\d+", e).group()))
        target = f"{cand.gene}:{cand.protein_change}".upper()
        if cand.known_drug and target in drug_table.targets(cand.drug):
            status = "conflict"
            reasons.append(f"{target} is a sensitising target of {cand.drug} in drugs.tsv")
        if not cand.known_drug:
            reasons.append(f"therapy '{cand.drug}' is not in drugs.tsv: kept as written; add it or map it by hand")
        variant = cand.variants[min(cand.variants)]
        transcript, hgvs_c = _refseq_c(variant)
        if transcript:
            notes.append("transcript and hgvs_c as CIViC hgvs_descriptions give them: check the version against "
                          "resources/placement/transcripts.tsv")
        items = sorted(cand.items, key=lambda i: i.eid)
        evidence = [f"CIViC:EID{e}" for e in sorted({i.eid for i in items})]
        evidence += [f"PMID:{p}" for p in sorted({i.pmid for i in items if i.pmid}, key=int)]
        row = {c: "" for c in (*KB_V2_COLUMNS, *REVIEW_COLUMNS)}
        row.update(
            id=ids[id(cand)], gene=cand.gene, protein_change=cand.protein_change, transcript=transcript,
            hgvs_c=hgvs_c, resistance_to=cand.drug,
            drug_class=",".join(drug_table.classes(cand.drug)) if cand.known_drug else "",
            evidence=";".join(evidence),
            drug_evidence=f"{drug_key if cand.known_drug else cand.drug}: "
                          + ", ".join(_item_text(i) for i in items),
            coordinate_sources=sources,
            note="; ".join(["candidate from a CIViC release (research use only)", *cand.remarks, *notes]),
            review_status=status, review_reason="; ".join(reasons),
            civic_variant="; ".join(f"{v.variant_id} {v.gene} {v.name}" for _, v in sorted(cand.variants.items())),
            civic_coordinates="; ".join(sorted({f"{v.build} {v.chrom}:{v.start}-{v.stop} "
                                               f"{v.ref or '-'}>{v.alt or '-'}" for v in cand.variants.values()})),
            civic_diseases="; ".join(sorted({i.disease for i in items if i.disease})),
            civic_levels=",".join(sorted({i.level for i in items if i.level})),
            civic_contrary="; ".join(against),
        )
        for build, (chrom, pos, ref, alt) in coords.items():
            prefix = build.lower()
            row.update({f"{prefix}_chrom": chrom, f"{prefix}_pos": str(pos), f"{prefix}_ref": ref,
                        f"{prefix}_alt": alt})
        rows.append(row)
    rows.sort(key=lambda r: (r["gene"], r["protein_change"], r["id"], r["resistance_to"].lower()))
    return rows


def _clean(value: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", value)


def write_review(path, rows, meta_lines):
    columns = (*KB_V2_COLUMNS, *REVIEW_COLUMNS)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("# ctdna-monitor CIViC import: candidate rows for review, not knowledge-base rows "
                     "(research use only)\n")
        for line in meta_lines:
            handle.write(f"# {_clean(line)}\n")
        handle.write("\t".join(columns) + "\n")
        for row in rows:
            handle.write("\t".join(_clean(row[c]) for c in columns) + "\n")


def import_civic(evidence, variants, out, chain=None, existing=None, drugs="resources/drugs.tsv", skipped=None):
    """Run the import; returns a one-paragraph summary. Raises InputError on bad input, before writing."""
    out_path = Path(out)
    if existing and out_path.exists() and out_path.resolve() == Path(existing).resolve():
        raise InputError(out, "refusing to write candidates over the knowledge base", hint="choose another --out")
    if out_path.name == "resistance_mutations.tsv":
        raise InputError(out, "refusing to write candidates into a knowledge-base file", hint="choose another --out")
    if chain is not None and not Path(chain).is_file():
        raise InputError(chain, "liftover chain not found", hint="pass the UCSC hg19ToHg38.over.chain.gz path")
    if not Path(drugs).is_file():
        raise InputError(drugs, "drug table not found", hint="run from the project root or pass --drugs")
    drug_table = DrugTable(drugs)
    kb = ExistingKb(existing) if existing else None
    variant_index = read_variants(variants)
    skips = _Skips()
    candidates, contrary, label, n_rows = read_evidence(evidence, variant_index, drug_table, skips)
    rows = review_rows(list(candidates.values()), contrary, drug_table, kb, chain)
    counts = Counter(r["review_status"] for r in rows)
    kept = len({i.eid for c in candidates.values() for i in c.items})
    summary = (f"{n_rows} evidence rows ({label} header); {kept} EIDs kept in {len(rows)} candidate rows ("
               + ", ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s]) + f"); {len(skips.rows)} skipped")
    meta = [f"evidence: {evidence}", f"variants: {variants}", f"header: {label}",
            f"chain: {chain or 'none (GRCh38 columns of GRCh37 variants left empty)'}",
            f"compared with: {existing or 'nothing (status unchecked)'}", f"drugs: {drugs}", f"summary: {summary}"]
    write_review(out, rows, meta)
    if skipped:
        with open(skipped, "w", encoding="utf-8", newline="") as handle:
            handle.write("line\tevidence_id\tcivic_name\treason\n")
            for line, eid, name, reason in skips.rows:
                handle.write(f"{line}\t{eid}\t{_clean(name)}\t{_clean(reason)}\n")
    reasons = Counter(re.sub(r"\d+", "N", r.split(" (")[0]) for *_, r in skips.rows)
    if reasons:
        summary += " (" + "; ".join(f"{n}× {r}" for r, n in reasons.most_common()) + ")"
    return summary


# --------------------------------------------------------------------------------------------------- CLI
def register(subparsers):
    """Add `import-civic` to the `ctdna-monitor-kb` sub-parsers (src/ctdna_monitor/curation/cli.py)."""
    parser = subparsers.add_parser(
        "import-civic",
        help="candidate resistance rows from a CIViC release into a review table",
        description="Read CIViC ClinicalEvidenceSummaries and VariantSummaries (current or pre-2023 header) and "
        "write accepted predictive resistance evidence, grouped per variant and drug, to a review table. "
        "Never writes the knowledge base. Research use only.",
    )
    parser.add_argument("evidence", metavar="EVIDENCE.tsv", help="CIViC ClinicalEvidenceSummaries TSV")
    parser.add_argument("variants", metavar="VARIANTS.tsv", help="CIViC VariantSummaries TSV")
    parser.add_argument("--out", required=True, metavar="REVIEW.tsv", help="review table to write")
    parser.add_argument("--chain", metavar="PATH", help="UCSC hg19ToHg38.over.chain.gz for the GRCh38 columns")
    parser.add_argument("--existing", metavar="PATH", help="knowledge base to compare with "
                        "(resources/resistance_mutations.tsv)")
    parser.add_argument("--drugs", default="resources/drugs.tsv", metavar="PATH",
                        help="drug table mapping CIViC therapy names (default: %(default)s)")
    parser.add_argument("--skipped", metavar="PATH", help="also write the skipped evidence rows and why")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    try:
        summary = import_civic(args.evidence, args.variants, args.out, chain=args.chain, existing=args.existing,
                               drugs=args.drugs, skipped=args.skipped)
    except CtdnaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the --out folder does not exist
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"import-civic: {summary}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Standalone entry (`python -m ctdna_monitor.curation.civic import-civic ...`) until cli.py is merged."""
    parser = argparse.ArgumentParser(prog="ctdna-monitor-kb", description="Knowledge-base curation tools.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("import-civic", "-h", "--help"):
        argv.insert(0, "import-civic")  # standalone, the sub-command name may be left out
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""The resistance-mutation knowledge base and the drug table.

`resources/resistance_mutations.tsv` lists resistance mutations with GRCh38 and
GRCh37 coordinates (empty where two public sources did not agree) and the drugs
and drug classes they confer resistance to. `resources/drugs.tsv` maps drug names
and synonyms to a generic name, its classes and its own sensitising targets.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .variants import canonical_chrom

KB_COLUMNS = (
    "id", "gene", "protein_change", "transcript", "hgvs_c",
    "grch38_chrom", "grch38_pos", "grch38_ref", "grch38_alt",
    "grch37_chrom", "grch37_pos", "grch37_ref", "grch37_alt",
    "resistance_to", "drug_class", "cancer_types", "evidence", "coordinate_sources", "note",
)  # fmt: skip
DRUG_COLUMNS = ("drug", "synonyms", "drug_class", "sensitising_targets", "atc_code", "provenance")
BUILDS = ("GRCh38", "GRCh37")


def _split(text: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").split(sep) if item.strip())


def read_versioned_tsv(path, columns, what):
    """Rows of a TSV whose leading '#' lines carry metadata such as '# version: 1.0'."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"{what} not found", hint="check the path in config/config.yaml")
    meta, lines = {}, []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                if value:
                    meta[key.strip().lower()] = value.strip()
            elif line.strip():
                lines.append(line)
    reader = csv.DictReader(lines, delimiter="\t")
    header = reader.fieldnames or []
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(path, f"missing column(s): {', '.join(missing)}")
    rows = []
    for number, row in enumerate(reader, start=1):
        if None in row:
            raise InputError(path, "more fields than header columns", row=number)
        rows.append({k: (v or "").strip() for k, v in row.items()})
    return rows, meta


@dataclass(frozen=True)
class Drug:
    name: str
    classes: tuple[str, ...]
    targets: tuple[str, ...]  # "GENE:PROTEIN" items the drug is given for


class DrugTable:
    def __init__(self, path):
        rows, self.meta = read_versioned_tsv(path, DRUG_COLUMNS, "drug table")
        self.path = str(path)
        self.drugs: dict[str, Drug] = {}
        self._names: dict[str, str] = {}
        for number, row in enumerate(rows, start=1):
            name = row["drug"].lower()
            if not name or not row["drug_class"]:
                raise InputError(path, "drug and drug_class must not be empty", row=number)
            self.drugs[name] = Drug(
                name,
                tuple(c.lower() for c in _split(row["drug_class"])),
                tuple(t.upper() for t in _split(row["sensitising_targets"], ";")),
            )
            for alias in (name, *_split(row["synonyms"].lower())):
                self._names[alias] = name

    def resolve(self, name: str) -> str | None:
        """Generic name for a drug name or synonym (case-insensitive), or None if unknown."""
        return self._names.get(name.strip().lower())

    def classes(self, drug: str) -> tuple[str, ...]:
        return self.drugs[drug].classes if drug in self.drugs else ()

    def targets(self, drug: str) -> tuple[str, ...]:
        return self.drugs[drug].targets if drug in self.drugs else ()


@dataclass
class KbEntry:
    id: str
    gene: str
    protein_change: str
    resistance_to: tuple[str, ...]
    drug_classes: tuple[str, ...]
    evidence: str
    coords: dict = field(default_factory=dict)  # build -> (chrom, pos, ref, alt)


class KnowledgeBase:
    def __init__(self, path):
        rows, self.meta = read_versioned_tsv(path, KB_COLUMNS, "knowledge base")
        self.path = str(path)
        self.version = self.meta.get("version", "unversioned")
        self.entries: dict[str, KbEntry] = {}
        self._by_coord: dict[tuple, str] = {}
        self._by_protein: dict[tuple, str] = {}
        self.rows: dict[str, dict] = {}
        for number, row in enumerate(rows, start=1):
            entry = self._entry(path, number, row)
            if entry.id in self.entries:
                raise InputError(path, f"duplicate id '{entry.id}'", row=number, column="id")
            self.entries[entry.id] = entry
            self.rows[entry.id] = row
            for build, coord in entry.coords.items():
                self._by_coord.setdefault((build, *coord), entry.id)
            self._by_protein.setdefault((entry.gene, entry.protein_change), entry.id)

    @staticmethod
    def _entry(path, number, row) -> KbEntry:
        for column in ("id", "gene", "protein_change", "evidence"):
            if not row[column]:
                raise InputError(path, "value is empty (every row needs provenance)", row=number, column=column)
        coords = {}
        for build in BUILDS:
            prefix = build.lower()
            parts = [row[f"{prefix}_{k}"] for k in ("chrom", "pos", "ref", "alt")]
            if any(parts) and not all(parts):
                raise InputError(path, f"{build} coordinates are partly filled", row=number, column=f"{prefix}_pos")
            if all(parts):
                if not parts[1].isdigit():
                    raise InputError(path, f"'{parts[1]}' is not a position", row=number, column=f"{prefix}_pos")
                coords[build] = (canonical_chrom(parts[0]), int(parts[1]), parts[2].upper(), parts[3].upper())
        return KbEntry(
            id=row["id"],
            gene=row["gene"].upper(),
            protein_change=row["protein_change"],
            resistance_to=tuple(d.lower() for d in _split(row["resistance_to"])),
            drug_classes=tuple(c.lower() for c in _split(row["drug_class"])),
            evidence=row["evidence"],
            coords=coords,
        )

    def match(self, build: str, chrom, pos, ref, alt, gene="", protein_change="") -> str:
        """Knowledge-base id for a variant: by coordinates in `build`, else by gene + protein change."""
        hit = self._by_coord.get((build, canonical_chrom(chrom), int(pos), ref, alt))
        if hit:
            return hit
        if gene and protein_change:
            return self._by_protein.get((gene.upper(), protein_change), "")
        return ""

    def is_relevant(self, kb_id: str, drugs, drug_table: DrugTable) -> bool:
        """Does the variant confer resistance to any of `drugs` (by name or by drug class)?"""
        entry = self.entries[kb_id]
        for drug in drugs:
            if drug in entry.resistance_to:
                return True
            if set(drug_table.classes(drug)) & set(entry.drug_classes) and not entry.resistance_to:
                return True
        return False

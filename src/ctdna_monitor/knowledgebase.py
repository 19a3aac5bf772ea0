"""The resistance-mutation knowledge base and the drug table.

`resources/resistance_mutations.tsv` lists resistance mutations with GRCh38 and
GRCh37 coordinates (empty where two public sources did not agree) and the drugs
and drug classes they confer resistance to. `resources/drugs.tsv` maps drug names
and synonyms to a generic name, its classes and its own sensitising targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import InputError
from .tables import read_table
from .variants import canonical_chrom

KB_COLUMNS = (
    "id", "gene", "protein_change", "transcript", "hgvs_c",
    "grch38_chrom", "grch38_pos", "grch38_ref", "grch38_alt",
    "grch37_chrom", "grch37_pos", "grch37_ref", "grch37_alt",
    "resistance_to", "drug_class", "cancer_types", "evidence", "drug_evidence", "coordinate_sources", "note",
)  # fmt: skip
DRUG_COLUMNS = ("drug", "synonyms", "drug_class", "sensitising_targets", "atc_code", "provenance")
# Optional last column of drugs.tsv: a regimen's component drugs (generic names, comma-separated).
DRUG_OPTIONAL_COLUMNS = ("components",)
BUILDS = ("GRCh38", "GRCh37")


def _split(text: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").split(sep) if item.strip())


def read_versioned_tsv(path, columns, what):
    """Rows of a TSV whose leading '#' lines carry metadata such as '# version: 1.0' (read strictly: tables.py)."""
    table = read_table(path, what)
    meta = {}
    for line in table.comments:
        key, _, value = line[1:].partition(":")
        if value:
            meta[key.strip().lower()] = value.strip()
    missing = [c for c in columns if c not in table.header]
    if missing:
        raise InputError(path, f"missing column(s): {', '.join(missing)}")
    return table.rows, meta


@dataclass(frozen=True)
class Drug:
    name: str
    classes: tuple[str, ...]
    targets: tuple[str, ...]  # "GENE:PROTEIN" items the drug is given for
    components: tuple[str, ...] = ()  # a regimen's drugs (FOLFOX: fluorouracil, leucovorin, oxaliplatin)


def name_key(name: str) -> str:
    """A drug name as looked up: lower case, runs of spaces, '-' and '_' as one space ('Gem-Cis' = 'gem cis')."""
    return re.sub(r"[\s_-]+", " ", name.strip().lower())


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    neighbouring letters (the usual typing slips) each count 1."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def near_miss_allowance(name: str) -> int:
    """Edits that still count as a misspelling of a known name: none for names under 6 letters (short
    codes such as 'c225' are too close to unrelated words), 1 up to 9 letters, 2 from 10 letters on.
    Two edits at 9 letters would confuse real drugs (erlotinib/nilotinib, ceritinib/gefitinib);
    tests/test_drugs.py checks that no two names of different drugs are near misses of each other."""
    if len(name) < 6:
        return 0
    return 1 if len(name) <= 9 else 2


class DrugTable:
    """Generic drug names, their synonyms (brand names, codes), classes, own targets and, for regimens,
    component drugs. A name the table does not know is not an error (see `near_miss`)."""

    def __init__(self, path):
        rows, self.meta = read_versioned_tsv(path, DRUG_COLUMNS, "drug table")
        self.path = str(path)
        self.drugs: dict[str, Drug] = {}
        self._names: dict[str, str] = {}
        for number, row in enumerate(rows, start=1):
            name = row["drug"].lower()
            if not name or not row["drug_class"]:
                raise InputError(path, "drug and drug_class must not be empty", row=number)
            if name in self.drugs:
                raise InputError(path, f"drug '{name}' is listed twice", row=number, column="drug")
            self.drugs[name] = Drug(
                name,
                tuple(c.lower() for c in _split(row["drug_class"])),
                tuple(t.upper() for t in _split(row["sensitising_targets"], ";")),
                tuple(c.lower() for c in _split(row.get("components", ""))),
            )
            for alias in map(name_key, (name, *_split(row["synonyms"]))):
                if self._names.get(alias, name) != name:
                    raise InputError(path, f"name '{alias}' also belongs to '{self._names[alias]}'", row=number, column="synonyms")
                self._names[alias] = name
        for number, drug in enumerate(self.drugs.values(), start=1):
            for component in drug.components:
                if component not in self.drugs or self.drugs[component].components:
                    raise InputError(
                        path, f"component '{component}' of '{drug.name}' is not a single drug of this table",
                        row=number, column="components", hint="list generic names of rows without components",
                    )  # fmt: skip
        self.classes_known = frozenset(c for drug in self.drugs.values() for c in drug.classes)

    @property
    def names(self) -> dict[str, str]:
        """Every known name (generic or synonym, as `name_key` writes it) -> generic name."""
        return dict(self._names)

    def resolve(self, name: str) -> str | None:
        """Generic name for a drug name or synonym (case-insensitive), or None if unknown."""
        return self._names.get(name_key(name))

    def near_miss(self, name: str) -> str | None:
        """The generic name `name` is most likely a misspelling of (None when it is not close to any
        known name): 'osimertnib' -> 'osimertinib'. The first letter must agree (slips rarely hit it,
        and real drugs differ there: lapatinib/capmatinib, decitabine/gemcitabine). Ties go to the
        alphabetically first name."""
        text = name_key(name)
        best = None
        for known, generic in sorted(self._names.items()):
            allowed = near_miss_allowance(known)
            if allowed == 0 or abs(len(known) - len(text)) > allowed or known[:1] != text[:1]:
                continue
            distance = edit_distance(text, known)
            if 0 < distance <= allowed and (best is None or distance < best[0]):
                best = (distance, generic)
        return best[1] if best else None

    def expand(self, drug: str) -> tuple[str, ...]:
        """The single drugs given under `drug`: a regimen's components, else the drug itself."""
        known = self.drugs.get(drug)
        return known.components if known and known.components else (drug,)

    def _with_components(self, drug: str, attribute: str) -> tuple[str, ...]:
        """A drug's own `attribute` values, then those of its components not yet listed (regimens)."""
        if drug not in self.drugs:
            return ()
        found = list(getattr(self.drugs[drug], attribute))
        for component in self.drugs[drug].components:
            found += [v for v in getattr(self.drugs[component], attribute) if v not in found]
        return tuple(found)

    def classes(self, drug: str) -> tuple[str, ...]:
        """Classes of a drug; of a regimen, its own plus those of its components."""
        return self._with_components(drug, "classes")

    def targets(self, drug: str) -> tuple[str, ...]:
        """Own sensitising targets of a drug, or of any component of a regimen."""
        return self._with_components(drug, "targets")

@dataclass
class KbEntry:
    id: str
    gene: str
    protein_change: str
    resistance_to: tuple[str, ...]
    drug_classes: tuple[str, ...]
    evidence: str
    cancer_types: tuple[str, ...] = ()  # as written in the table (OncoTree codes or mapped words)
    coords: dict = field(default_factory=dict)  # build -> (chrom, pos, ref, alt)


class KnowledgeBase:
    """The resistance-mutation table. With `drugs` (a DrugTable) every drug name and class is checked
    against the drug table; with `cancer_types` (a CancerTypes) every cancer type must be known."""

    def __init__(self, path, drugs: DrugTable | None = None, cancer_types=None):
        rows, self.meta = read_versioned_tsv(path, KB_COLUMNS, "knowledge base")
        self.path = str(path)
        self.version = self.meta.get("version", "unversioned")
        self.entries: dict[str, KbEntry] = {}
        self._by_coord: dict[tuple, str] = {}
        self._by_protein: dict[tuple, str] = {}
        self.rows: dict[str, dict] = {}
        for number, row in enumerate(rows, start=1):
            entry = self._entry(path, number, row)
            if drugs is not None:
                _check_drugs(path, number, entry, drugs)
            if cancer_types is not None:
                for code in entry.cancer_types:
                    cancer_types.check(code, path, number, "cancer_types")
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
            cancer_types=_split(row["cancer_types"]),
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
            if {drug, *drug_table.expand(drug)} & set(entry.resistance_to):
                return True
            if set(drug_table.classes(drug)) & set(entry.drug_classes) and not entry.resistance_to:
                return True
        return False


def _check_drugs(path, number, entry: KbEntry, drugs: DrugTable):
    """Every drug a row names is a generic name of the drug table, every class one the table uses."""
    for name in entry.resistance_to:
        if name in drugs.drugs and not drugs.drugs[name].components:
            continue
        generic = drugs.resolve(name)
        if generic and generic != name and not drugs.drugs[generic].components:
            hint = f"write the generic name '{generic}'"
        else:
            meant = drugs.near_miss(name)
            hint = f"did you mean '{meant}'?" if meant else f"add it to {drugs.path} (with provenance) or correct the name"
        raise InputError(path, f"{entry.id}: drug '{name}' is not a single drug of the drug table", row=number,
                         column="resistance_to", hint=hint)  # fmt: skip
    for drug_class in entry.drug_classes:
        if drug_class not in drugs.classes_known:
            raise InputError(path, f"{entry.id}: drug class '{drug_class}' is not used in {drugs.path}", row=number,
                             column="drug_class", hint="use the drug table's class vocabulary (resources/README.md)")  # fmt: skip

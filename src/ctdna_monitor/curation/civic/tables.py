"""Reading CIViC TSV releases: both header generations, columns looked up by alias."""

from __future__ import annotations

import csv
from pathlib import Path

from ...errors import InputError

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


def read_civic_tsv(path, what: str, fold_last: str | None = None):
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


def columns(path, header, aliases, what, optional=()):
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


def to_int(path, line, column, text):
    if not text.isdigit():
        raise InputError(path, f"'{text}' is not a whole number", row=line, column=column)
    return int(text)


"""Load and validate the sample sheet and the clinical events table.

Every problem is reported as an InputError naming the file, the row (1-based
data row, header excluded) and the column, so a user can fix the sheet without
reading code. Nothing is written before validation passes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pandas as pd

from .errors import InputError
from .tables import read_table

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SAMPLE_COLUMNS = ("patient", "sample", "date", "vcf")
OPTIONAL_SAMPLE_COLUMNS = ("vcf_sample", "bam", "cancer_type")
EVENT_COLUMNS = ("patient", "date", "event", "value")
log = logging.getLogger("ctdna_monitor")
EVENT_TYPES = ("therapy_start", "therapy_end", "scan")
RECIST = ("CR", "PR", "SD", "PD", "NE")


def _read_tsv(path: Path, what: str) -> tuple[list[dict], list[str]]:
    table = read_table(path, what)  # strict: see tables.py
    return table.rows, table.header


def _require_values(path, row, number, columns):
    for column in columns:
        if not row.get(column):
            raise InputError(path, "value is empty", row=number, column=column)


def _check_columns(path, header, required):
    missing = [name for name in required if name not in header]
    if missing:
        raise InputError(
            path,
            f"missing required column(s): {', '.join(missing)}",
            hint=f"the header must contain {', '.join(required)}; it has {', '.join(header)}",
        )


def parse_date(text: str, path, row, column) -> dt.date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(path, f"'{text}' is not a valid date", row=row, column=column, hint="use YYYY-MM-DD") from None


def check_id(value: str, path, row, column):
    if not ID_PATTERN.fullmatch(value):
        raise InputError(
            path,
            f"'{value}' is not a safe ID",
            row=row,
            column=column,
            hint="use letters, digits, '.', '_' or '-', starting with a letter or digit",
        )


def load_samples(path, cancer_types=None, check_files=True) -> pd.DataFrame:
    """Validated sample sheet; relative file paths resolved against the sheet's folder.

    With `check_files` a file that does not exist is an error here; without, files are left to the
    pre-flight check (preflight.py), which lists every problem together. Rows stay in sheet order.

    The optional `cancer_type` column holds the patient's OncoTree code: given on any of a patient's rows
    it applies to all of them, and rows that give one must agree. With `cancer_types` (a CancerTypes) the
    codes are checked and written in their canonical form."""
    path = Path(path).resolve()
    rows, header = _read_tsv(path, "sample sheet")
    _check_columns(path, header, SAMPLE_COLUMNS)
    if not rows:
        raise InputError(path, "sample sheet has no rows", hint="add one row per blood draw")
    seen: dict[str, int] = {}
    records = []
    cancer: dict[str, tuple[str, int]] = {}  # patient -> (code, first row giving it)
    for number, row in enumerate(rows, start=1):
        _require_values(path, row, number, SAMPLE_COLUMNS)
        _cancer_type(path, row, number, cancer, cancer_types)
        check_id(row["patient"], path, number, "patient")
        check_id(row["sample"], path, number, "sample")
        if row["sample"] in seen:
            raise InputError(
                path,
                f"sample '{row['sample']}' is also in row {seen[row['sample']]}",
                row=number,
                column="sample",
                hint="each draw needs a unique sample ID",
            )
        seen[row["sample"]] = number
        date = parse_date(row["date"], path, number, "date")
        vcf = _resolve(path, row["vcf"], number, "vcf", check_files)
        bam = _resolve(path, row["bam"], number, "bam", check_files) if row.get("bam") else ""
        records.append(
            {
                "patient": row["patient"],
                "sample": row["sample"],
                "date": date.isoformat(),
                "vcf": vcf,
                "vcf_sample": row.get("vcf_sample", ""),
                "bam": bam,
            }
        )
    frame = pd.DataFrame.from_records(records)
    frame["cancer_type"] = frame["patient"].map(lambda patient: cancer.get(patient, ("", 0))[0])
    return frame.set_index("sample", drop=False)


def _cancer_type(path, row, number, cancer, cancer_types):
    text = row.get("cancer_type", "")
    if not text:
        return
    code = cancer_types.check(text, path, number, "cancer_type") if cancer_types is not None else text.upper()
    patient = row["patient"]
    if patient in cancer and cancer[patient][0] != code:
        first, line = cancer[patient]
        raise InputError(path, f"cancer_type '{text}' differs from '{first}' given for {patient} in row {line}",
                         row=number, column="cancer_type", hint="a patient has one cancer type")  # fmt: skip
    cancer.setdefault(patient, (code, number))


def cancer_types_of(samples: pd.DataFrame) -> dict[str, str]:
    """patient -> OncoTree code ('' when not recorded)."""
    if "cancer_type" not in samples:
        return {}
    return dict(zip(samples["patient"], samples["cancer_type"]))


def _resolve(sheet: Path, value: str, row: int, column: str, check: bool = True) -> str:
    if not check and _plain_relative(value):  # what Path gives, without building one (a million-row sheet)
        return f"{str(sheet.parent).rstrip('/')}/{value}"
    target = Path(value)
    if not target.is_absolute():
        target = sheet.parent / target
    if check and not target.exists():
        raise InputError(sheet, f"file '{value}' does not exist (looked at {target})", row=row, column=column)
    return str(target)


def load_events(path, patients, drugs) -> pd.DataFrame:
    """Validated clinical events; drug names resolved to generic names via `drugs` (a DrugTable).

    Events of patients without a draw in the sample sheet (a table exported whole from the clinic, ahead of the
    draws) are left out with one logged note naming them, not an error.

    A therapy value may combine drugs with '+' ("FOLFOX + bevacizumab"): each part becomes its own event.
    A name the drug table does not know is kept as written (first spelling seen, whatever the case) and
    raises no resistance alert; a near miss of a known name ('osimertnib') is an input error."""
    path = Path(path).resolve()
    rows, header = _read_tsv(path, "events table")
    _check_columns(path, header, EVENT_COLUMNS)
    known = set(patients)
    records = []
    spelling: dict[str, str] = {}  # unknown drug names: lower case -> the first spelling seen
    waiting: dict[str, int] = {}  # patients without a draw in the sheet -> first row
    for number, row in enumerate(rows, start=1):
        _require_values(path, row, number, EVENT_COLUMNS)
        check_id(row["patient"], path, number, "patient")
        if row["patient"] not in known:  # exported ahead of the draws: noted, used once the patient has a draw
            waiting.setdefault(row["patient"], number)
            continue
        date = parse_date(row["date"], path, number, "date")
        event = row["event"].lower()
        if event not in EVENT_TYPES:
            raise InputError(path, f"unknown event '{row['event']}'", row=number, column="event", hint=f"use one of {', '.join(EVENT_TYPES)}")
        value = row["value"]
        if event == "scan":
            value = value.upper()
            if value not in RECIST:
                raise InputError(path, f"'{row['value']}' is not a RECIST response", row=number, column="value", hint=f"use one of {', '.join(RECIST)}")
            records.append({"patient": row["patient"], "date": date.isoformat(), "event": event, "value": value})
            continue
        for name in _therapy_names(value, path, number, drugs, spelling):
            records.append({"patient": row["patient"], "date": date.isoformat(), "event": event, "value": name})
    frame = pd.DataFrame.from_records(records, columns=list(EVENT_COLUMNS))
    _check_therapy_order(frame, path)
    if waiting:
        log.warning("%s", events_without_draws_note(path, waiting))
    return frame


def events_without_draws_note(path, waiting: dict[str, int]) -> str:
    """One line naming the patients whose events wait for a first draw (a misspelt ID shows up here too)."""
    shown = ", ".join(f"{patient} (row {row})" for patient, row in sorted(waiting.items(), key=lambda x: x[1])[:10])
    more = f" and {len(waiting) - 10} more" if len(waiting) > 10 else ""
    return (f"note: {path}: events of {len(waiting)} patient(s) without a draw in the sample sheet are not used "
            f"until a draw of theirs arrives: {shown}{more} (if an ID is misspelt, fix it in either table)")


def _therapy_names(value, path, number, drugs, spelling) -> list[str]:
    whole = drugs.resolve(value)
    if whole is not None:
        return [whole]
    names = []
    for part in (p.strip() for p in value.split("+")):
        if not part:
            raise InputError(path, f"'{value}' has an empty drug name", row=number, column="value",
                             hint="combine drugs as 'drug A + drug B'")  # fmt: skip
        generic = drugs.resolve(part) or spelling.get(part.lower())  # unknown names are checked once
        if generic is None:
            meant = drugs.near_miss(part)
            if meant:
                raise InputError(
                    path, f"'{part}' is not in the drug table; did you mean '{meant}'?", row=number, column="value",
                    hint=f"correct the spelling, or add '{part}' to {drugs.path} if it is another drug",
                )  # fmt: skip
            generic = spelling.setdefault(part.lower(), part)
        names.append(generic)
    return names


def unknown_therapies(events: pd.DataFrame, drugs) -> dict[str, list[str]]:
    """Therapy names the drug table does not know -> the patients whose events name them (sorted)."""
    therapy = events[events.event != "scan"]
    unknown: dict[str, set] = {}
    for patient, name in zip(therapy.patient, therapy.value):
        if drugs.resolve(name) is None:
            unknown.setdefault(name, set()).add(patient)
    return {name: sorted(unknown[name]) for name in sorted(unknown, key=str.lower)}


def _check_therapy_order(events: pd.DataFrame, path):
    """A therapy_end must follow a therapy_start of the same drug. One sort of the table, by patient, drug and
    date (stable), instead of one per patient and drug; errors come in the same order as groupby's."""
    therapy = events[(events.event != "scan") & events.patient.notna() & events.value.notna()]
    ordered = therapy.sort_values(["patient", "value", "date"], kind="stable")
    group, open_since = None, None
    for patient, drug, kind, date in zip(ordered.patient, ordered.value, ordered.event, ordered.date):
        if (patient, drug) != group:
            group, open_since = (patient, drug), None
        if kind == "therapy_start":
            open_since = date
        elif open_since is None:
            raise InputError(path, f"therapy_end of {drug} for {patient} on {date} has no earlier therapy_start", column="event")
        else:
            open_since = None


def empty_events() -> pd.DataFrame:
    return pd.DataFrame(columns=list(EVENT_COLUMNS))


def _plain_relative(value: str) -> bool:
    """A relative path that pathlib would join unchanged (no '.' or empty parts, no trailing '/')."""
    return bool(value) and value[0] != "/" and value[-1] != "/" and "//" not in value and value != "." \
        and not value.startswith("./") and "/./" not in value and not value.endswith("/.")

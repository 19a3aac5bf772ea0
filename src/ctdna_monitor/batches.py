"""Ingestion batches: which patients one ingestion job reads.

A patient's batch follows from a stable hash of its ID (SHA-256, not Python's salted hash) modulo the number of
batches, and that number only changes when the cohort crosses a power of two times `size`: adding a draw or a
patient changes the input of one batch only, so only that batch is read again (the cohort-wide steps after
ingestion rerun anyway). Batches differ in size by chance (binomial); empty ones are left out.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from .errors import CtdnaError, OutputError

MAX_BATCHES = 512  # Snakemake's scheduling of a job fed by n jobs grows like n squared: 2,048 cost ~15 s


def batch_count(n_patients: int, size: int, max_batches: int = MAX_BATCHES) -> int:
    """A power of two, at least n/size (and 2 from two patients on, so two cores both work), at most
    `max_batches` (rounded down to a power of two): past that, batches grow instead."""
    if n_patients <= 0:
        return 0
    wanted = max(math.ceil(n_patients / max(size, 1)), min(n_patients, 2))
    cap = 1 << (max(max_batches, 1).bit_length() - 1)
    return min(1 << (wanted - 1).bit_length(), cap)


def batch_number(patient: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(patient.encode("utf-8")).digest()[:8], "big") % count


def ingest_batches(patients, size: int, max_batches: int = MAX_BATCHES) -> dict[str, list[str]]:
    """Batch name ('1', '01', ... zero-padded to the count's width) -> its patients, sorted; no empty batch."""
    patients = sorted(set(patients))
    count = batch_count(len(patients), size, max_batches)
    members: dict[int, list[str]] = {}
    for patient in patients:
        members.setdefault(batch_number(patient, count), []).append(patient)
    width = len(str(count))
    return {f"{number + 1:0{width}d}": members[number] for number in sorted(members)}


# ------------------------------------------------------------------------------------------- draw lists
# Each ingestion job reads the list of its batch's draws (results/ingest/draws/batch-<b>.tsv, written when the
# workflow starts) instead of naming every VCF as an input: with a million draws, Snakemake spent minutes
# matching and checking a million input paths. A list is rewritten only when its text changes, and the text
# carries each file's size, modification time and inode (as the pre-flight cache's key), so a new, removed or
# quarantined draw, a changed vcf_sample or a VCF replaced or touched reruns its batch (and only it).
DRAW_LIST_COLUMNS = ("sample", "vcf", "vcf_sample", "size", "mtime_ns", "inode")


def draw_lists(rows, batch_of_patient: dict[str, str], file_stat) -> dict[str, list[tuple]]:
    """Batch -> its draws' (sample, vcf, vcf_sample, size, mtime_ns, inode), in sheet order; `rows` yields
    (patient, sample, vcf, vcf_sample); file_stat(path) -> (size, mtime_ns, inode)."""
    lists: dict[str, list[tuple]] = {}
    for patient, sample, vcf, vcf_sample in rows:
        lists.setdefault(batch_of_patient[patient], []).append((sample, vcf, vcf_sample, *file_stat(vcf)))
    return lists


def draw_list_text(draws) -> str:
    return "".join("\t".join(map(str, row)) + "\n" for row in [DRAW_LIST_COLUMNS, *draws])


def write_draw_lists(lists: dict[str, list[tuple]], folder) -> list[str]:
    """Write folder/batch-<b>.tsv of each batch whose list changed and remove those of batches that no longer
    exist; returns the batches written."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [batch for batch, draws in lists.items() if _write_list(folder / f"batch-{batch}.tsv", draw_list_text(draws))]
    wanted = {f"batch-{batch}.tsv" for batch in lists}
    for path in folder.glob("batch-*.tsv"):
        if path.name not in wanted:
            path.unlink(missing_ok=True)
    return written


def _write_list(path: Path, text: str) -> bool:
    """write_text_if_changed; when another Snakemake process (a dry run beside a run, a cluster job reading
    the workflow) writes the same list at the same moment and this write fails, the file holding the
    wanted text is success."""
    from .atomic import write_text_if_changed

    try:
        return write_text_if_changed(path, text)
    except (CtdnaError, OSError):
        try:
            if path.read_text(encoding="utf-8") == text:
                return False
        except OSError:
            pass
        raise


def read_draw_list(path) -> list[tuple[str, str, str]]:
    """(sample, vcf, vcf_sample) of each draw of a list written by write_draw_lists."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != DRAW_LIST_COLUMNS:
        raise OutputError(path, "not a draw list of this workflow; delete it and run again")
    return [tuple(line.split("\t")[:3]) for line in lines[1:]]

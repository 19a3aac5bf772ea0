"""Ingestion batches: which patients one ingestion job reads.

A patient's batch follows from a stable hash of its ID (SHA-256, not Python's salted hash) modulo the number of
batches, and that number only changes when the cohort crosses a power of two times `size`: adding a draw or a
patient changes the input of one batch only, so only that batch is read again (the cohort-wide steps after
ingestion rerun anyway). Batches differ in size by chance (binomial); empty ones are left out.
"""

from __future__ import annotations

import hashlib
import math


def batch_count(n_patients: int, size: int) -> int:
    """A power of two, at least n/size (and 2 from two patients on, so two cores both work)."""
    if n_patients <= 0:
        return 0
    wanted = max(math.ceil(n_patients / max(size, 1)), min(n_patients, 2))
    return 1 << (wanted - 1).bit_length()


def batch_number(patient: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(patient.encode("utf-8")).digest()[:8], "big") % count


def ingest_batches(patients, size: int) -> dict[str, list[str]]:
    """Batch name ('1', '01', ... zero-padded to the count's width) -> its patients, sorted; no empty batch."""
    patients = sorted(set(patients))
    count = batch_count(len(patients), size)
    members: dict[int, list[str]] = {}
    for patient in patients:
        members.setdefault(batch_number(patient, count), []).append(patient)
    width = len(str(count))
    return {f"{number + 1:0{width}d}": members[number] for number in sorted(members)}

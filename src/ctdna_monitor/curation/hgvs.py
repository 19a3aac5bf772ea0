"""Parse the coding-DNA (c.) changes the knowledge base uses (research use only).

Covered: substitution `c.2369C>T`, deletion-insertion `c.2389_2390delinsAG` (MNVs are written this way),
deletion `c.2235_2249del` (optionally `del<bases>`), insertion `c.2310_2311insGGT`, duplication
`c.2300_2308dup` (optionally `dup<bases>`). Only positions inside the CDS (plain integers) are accepted:
intronic (`c.100+1G>A`) and UTR (`c.-5`, `c.*3`) positions raise, since the placement data cover the CDS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BASES = "[ACGT]+"
_POS = r"(?P<start>\d+)(?:_(?P<end>\d+))?"
_PATTERNS = [
    ("sub", re.compile(r"^c\.(?P<start>\d+)(?P<ref>[ACGT])>(?P<alt>[ACGT])$")),
    ("delins", re.compile(rf"^c\.{_POS}delins(?P<alt>{_BASES})$")),
    ("del", re.compile(rf"^c\.{_POS}del(?P<ref>{_BASES})?$")),
    ("ins", re.compile(rf"^c\.(?P<start>\d+)_(?P<end>\d+)ins(?P<alt>{_BASES})$")),
    ("dup", re.compile(rf"^c\.{_POS}dup(?P<ref>{_BASES})?$")),
]


class HgvsError(ValueError):
    """A c. change that cannot be parsed; the message says what was expected."""


@dataclass(frozen=True)
class CChange:
    kind: str  # sub, delins, del, ins, dup
    start: int  # first affected CDS position (for ins: the base before the insertion)
    end: int  # last affected CDS position (for ins: the base after the insertion)
    ref: str | None  # reference bases stated in the description (transcript orientation), if any
    alt: str  # inserted/substituted bases ("" for del)
    text: str

    @property
    def is_indel(self) -> bool:
        """True when REF and ALT differ in length (needs genomic sequence to be placed)."""
        if self.kind in ("sub",):
            return False
        if self.kind == "delins":
            return len(self.alt) != self.end - self.start + 1
        return True


def parse_c(text: str) -> CChange:
    """Parse one c. description (without the transcript prefix)."""
    raw = (text or "").strip()
    if ":" in raw:
        raise HgvsError(f"'{raw}': give the c. change without the transcript (e.g. c.2369C>T)")
    if not raw.startswith("c."):
        raise HgvsError(f"'{raw}': expected a coding-DNA change starting with 'c.' (e.g. c.2369C>T)")
    if re.search(r"[-+*]", raw[2:]):
        raise HgvsError(f"'{raw}': intronic or UTR positions are not supported; only CDS positions can be placed")
    for kind, pattern in _PATTERNS:
        m = pattern.match(raw)
        if not m:
            continue
        start = int(m.group("start"))
        end = int(m.group("end")) if m.groupdict().get("end") else start
        if start < 1 or end < start:
            raise HgvsError(f"'{raw}': positions must be >= 1 and in increasing order")
        ref = m.groupdict().get("ref")
        alt = m.groupdict().get("alt") or ""
        if kind == "ins" and end != start + 1:
            raise HgvsError(f"'{raw}': an insertion lies between two adjacent positions (e.g. c.10_11insA)")
        if kind in ("del", "dup") and ref and len(ref) != end - start + 1:
            raise HgvsError(f"'{raw}': {len(ref)} bases given for a {end - start + 1}-base range")
        if kind == "dup":
            kind, alt = "dup", ref or ""
        return CChange(kind, start, end, ref, alt, raw)
    raise HgvsError(f"'{raw}': not a supported c. change (substitution c.2369C>T, c.2389_2390delinsAG, "
                    "c.10_12del, c.10_11insA, c.10_12dup)")

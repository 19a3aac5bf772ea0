"""Fill and check the coordinates of knowledge-base rows from the placement data (research use only)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .placement import BUILDS, Placement, PlacementData, liftover_agrees, place

COORD = ("chrom", "pos", "ref", "alt")
MARK = " [placement] "
DERIVED = "exon-table"


def _cols(build: str) -> list[str]:
    return [f"{build.lower()}_{c}" for c in COORD]


@dataclass
class Kb:
    path: Path
    comments: list[str]
    header: list[str]
    rows: list[dict] = field(default_factory=list)


def read_kb(path, required=("id", "transcript", "hgvs_c", "coordinate_sources", "note")) -> Kb:
    path = Path(path)
    with open(path, newline="") as fh:
        lines = fh.read().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    if not body:
        raise InputError(path, "no header line", hint="the KB needs the column header after the # lines")
    header = body[0].split("\t")
    needed = list(required) + _cols("GRCh37") + _cols("GRCh38")
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}", row=len(comments) + 1)
    rows = []
    # plain tab splitting (no CSV quoting): notes hold quotes that must survive a rewrite unchanged
    for i, line in enumerate(body[1:], start=len(comments) + 2):
        if not line.strip():
            continue
        values = line.split("\t")
        if len(values) != len(header):
            raise InputError(path, f"{len(values)} fields, header has {len(header)}", row=i,
                             hint="fields are tab-separated; check for a missing or extra tab")
        rows.append(dict(zip(header, values)))
    return Kb(path, comments, header, rows)


def write_kb(kb: Kb, out) -> None:
    lines = kb.comments + ["\t".join(kb.header)]
    lines += ["\t".join((row.get(c) or "").replace("\t", " ") for c in kb.header) for row in kb.rows]
    Path(out).write_text("\n".join(lines) + "\n")


def row_value(row: dict, build: str) -> tuple[str, str, str, str]:
    return tuple((row.get(c) or "").strip() for c in _cols(build))


def as_tuple(p: Placement) -> tuple[str, str, str, str]:
    return p.chrom, str(p.pos), p.ref, p.alt


def derive(data: PlacementData, row: dict, chain=None) -> tuple[dict[str, Placement], dict[str, str], str]:
    """Placements per build for a KB row; reasons for the builds left out; liftover status text."""
    if not (row.get("hgvs_c") or "").strip():
        return {}, {b: "no hgvs_c, nothing to place" for b in BUILDS}, ""
    placed, reasons, _note = place(data, row["transcript"].strip(), row["hgvs_c"].strip(),
                                   row.get("protein_change"))
    lift = ""
    if len(placed) == 2:
        if chain is None:
            lift = "liftover check not run (no chain given)"
        elif liftover_agrees(chain, placed["GRCh37"], placed["GRCh38"]):
            lift = "liftover check OK"
        else:
            reason = (f"GRCh37 {placed['GRCh37'].chrom}:{placed['GRCh37'].pos} does not lift to the derived GRCh38 "
                      f"{placed['GRCh38'].chrom}:{placed['GRCh38'].pos}; check by hand")
            return {}, {b: reason for b in BUILDS}, ""
    return placed, reasons, lift


def _source_parts(text: str) -> dict[str, str]:
    parts = {}
    for chunk in (text or "").split(" | "):
        build, sep, rest = chunk.partition(":")
        if sep and build.strip() in BUILDS:
            # the liftover status is re-computed on every run, so an old one is dropped here
            parts[build.strip()] = re.sub(r";\s*liftover check.*$", "", rest).strip()
    return parts


def place_row(data: PlacementData, row: dict, chain=None) -> list[str]:
    """Fill empty coordinates of one row in place; returns conflicts (derived value differs from a listed one)."""
    placed, reasons, lift = derive(data, row, chain)
    tr = data.resolve(row["transcript"].strip())[0]
    method = f"{DERIVED} ({tr.short_source} via resources/placement)" if tr else ""
    old = _source_parts(row.get("coordinate_sources", ""))
    parts, conflicts, notes = {}, [], []
    for build in ("GRCh38", "GRCh37"):
        have = row_value(row, build)
        if build in placed:
            got = as_tuple(placed[build])
            if not any(have):
                row.update(dict(zip(_cols(build), got)))
                parts[build] = method
            elif have == got:
                prior = old.get(build, "")
                parts[build] = prior if DERIVED in prior else "; ".join(filter(None, [prior, f"agrees with {method}"]))
            else:
                parts[build] = old.get(build, "")
                conflicts.append(f"{row['id']} {build}: listed {':'.join(have)}, derived {':'.join(got)}")
                notes.append(f"{build} derivation gives {':'.join(got)}, not the listed value; check by hand.")
        else:
            parts[build] = old.get(build, "")
            notes.append(f"{build} not derived: {reasons[build]}.")
    text = " | ".join(f"{b}: {parts[b]}" for b in ("GRCh38", "GRCh37") if parts.get(b))
    if text and lift and all(DERIVED in parts.get(b, "") for b in BUILDS):
        text += f"; {lift}"
    row["coordinate_sources"] = text
    if not placed and len(set(reasons.values())) == 1:
        notes = [f"not placed: {reasons['GRCh38']}."]
    note = (row.get("note") or "").split(MARK)[0].rstrip()
    row["note"] = note + (MARK + " ".join(notes) if notes else "")
    return conflicts


def check_row(data: PlacementData, row: dict, chain=None) -> list[str]:
    """Differences between a row's coordinates and a fresh derivation (derived rows must re-derive exactly)."""
    placed, reasons, lift = derive(data, row, chain)
    derived_claim = DERIVED in (row.get("coordinate_sources") or "")
    problems = []
    for build in BUILDS:
        have = row_value(row, build)
        if not any(have):
            continue
        if build in placed:
            if as_tuple(placed[build]) != have:
                problems.append(f"{row['id']} {build}: listed {':'.join(have)}, derived "
                                f"{':'.join(as_tuple(placed[build]))}")
        elif derived_claim and DERIVED in _source_parts(row["coordinate_sources"]).get(build, ""):
            problems.append(f"{row['id']} {build}: marked {DERIVED} but not derivable now ({reasons[build]})")
    if derived_claim and chain is not None and lift not in ("", "liftover check OK") and len(placed) == 2:
        problems.append(f"{row['id']}: {lift}")
    return problems

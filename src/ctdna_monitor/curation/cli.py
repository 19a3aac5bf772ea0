"""`ctdna-monitor-kb`: knowledge-base curation commands (research use only).

    ctdna-monitor-kb place KB.tsv --out OUT.tsv [--chain hg19ToHg38.over.chain.gz] [--placement DIR]
    ctdna-monitor-kb check KB.tsv [--chain ...] [--placement DIR]
    ctdna-monitor-kb import-civic EVIDENCE.tsv VARIANTS.tsv --out REVIEW.tsv [--chain ...] [--existing KB.tsv]
    ctdna-monitor-kb audit-evidence KB.tsv EVIDENCE.tsv [--out AUDIT.tsv]

Each sub-command's function takes the argparse namespace and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import CtdnaError
from . import civic, evidence_audit
from .kb_place import check_row, place_row, read_kb, write_kb
from .placement import DEFAULT_DIR, PlacementData


def cmd_place(args) -> int:
    if Path(args.out).resolve() == Path(args.kb).resolve():
        print(f"{args.out}: --out must be a new file; place never rewrites its input", file=sys.stderr)
        return 2
    data = PlacementData(args.placement)
    kb = read_kb(args.kb)
    conflicts = []
    for row in kb.rows:
        conflicts += place_row(data, row, args.chain)
    write_kb(kb, args.out)
    filled = sum(1 for r in kb.rows if "exon-table" in r.get("coordinate_sources", ""))
    print(f"{args.out}: {len(kb.rows)} rows, {filled} with derived or confirmed coordinates, "
          f"{len(conflicts)} conflicts (research use only)")
    for line in conflicts:
        print(f"conflict: {line}", file=sys.stderr)
    return 0


def cmd_check(args) -> int:
    data = PlacementData(args.placement)
    kb = read_kb(args.kb)
    problems = [p for row in kb.rows for p in check_row(data, row, args.chain)]
    for line in problems:
        print(line)
    print(f"{args.kb}: {len(kb.rows)} rows checked, {len(problems)} differences")
    return 1 if problems else 0


def _common(parser) -> None:
    parser.add_argument("kb", help="knowledge-base TSV (v2 columns)")
    parser.add_argument("--chain", default=None, help="UCSC hg19ToHg38.over.chain.gz (liftover cross-check)")
    parser.add_argument("--placement", default=str(DEFAULT_DIR), help="placement data directory")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctdna-monitor-kb", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("place", help="fill GRCh37/GRCh38 coordinates from transcript + hgvs_c into a new file")
    _common(p)
    p.add_argument("--out", required=True, help="output TSV (must differ from the input)")
    p.set_defaults(func=cmd_place)
    c = sub.add_parser("check", help="re-derive coordinates and report differences (exit 1 on any)")
    _common(c)
    c.set_defaults(func=cmd_check)
    civic.register(sub)
    evidence_audit.register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CtdnaError as err:
        print(str(err), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

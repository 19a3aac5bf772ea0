"""GRCh37 -> GRCh38 liftover of single positions with a UCSC chain file.

The chain is not shipped (UCSC's terms govern redistribution): callers pass its path, and the tests take it
from `../shared/reference/` and skip without it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import InputError


@lru_cache(maxsize=4)
def _chain(path: str):
    from pyliftover import LiftOver  # imported here: only curation needs it

    if not Path(path).exists():
        raise InputError(path, "liftover chain not found", hint="pass the UCSC hg19ToHg38.over.chain.gz path")
    return LiftOver(path)


def ucsc_chrom(chrom: str) -> str:
    chrom = str(chrom)
    return chrom if chrom.startswith("chr") else f"chr{chrom}"


def lift_position(chain_path, chrom: str, pos: int) -> tuple[str, int, str] | None:
    """Lift a 1-based position; returns (chrom, 1-based pos, strand) or None when the chain has no unique hit.

    A position that lands on another chromosome or maps to several places is returned as None: such a
    placement is never accepted mechanically.
    """
    hits = _chain(str(chain_path)).convert_coordinate(ucsc_chrom(chrom), int(pos) - 1)
    if not hits or len(hits) != 1:
        return None
    target_chrom, target_pos0, strand, _score = hits[0]
    return target_chrom, target_pos0 + 1, strand

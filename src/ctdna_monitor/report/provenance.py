"""Provenance of a report: what produced it and from which exact input files (SHA-256 checksums)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from ..inputs import load_samples
from .text import esc


def _shown(path: str, base: Path) -> str:
    """Path relative to `base` when inside it (stable across machines), else absolute."""
    absolute = Path(path).resolve()
    try:
        return str(absolute.relative_to(base))
    except ValueError:
        return str(absolute)


def input_checksums(samples: str, events: str, knowledgebase: str, drugs: str, base=".", cache="",
                    sheet=None) -> list[list[str]]:
    """[role, path, bytes, sha256] for the sheets, knowledge base, drug table and every VCF/BAM of the sheet
    (in sheet order; the path names the draw). With `cache` (a file), a checksum is computed again only for
    files whose size, modification time or inode changed since the last report (as the pre-flight check's
    cache does): a rerun after one new draw hashes one VCF, not 10,000 of them, nor every BAM again."""
    from ..preflight import FactCache  # (the pre-flight module reads VCF headers: imported only when used)

    base = Path(base).resolve()
    files = [("sample sheet", samples), ("events", events), ("knowledge base", knowledgebase), ("drug table", drugs)]
    # (`sheet`: the sheet already read by the caller, inputs.load_samples of `samples`)
    for row in (load_samples(samples) if sheet is None else sheet).itertuples(index=False):
        files.append(("VCF", row.vcf))
        if row.bam:
            files.append(("BAM/CRAM", row.bam))
    known = FactCache(cache or None)
    rows = []
    for role, path in files:
        if path:
            info = os.stat(path)
            rows.append([role, _shown(path, base), str(info.st_size), known.sha256(os.path.abspath(path), info)])
    known.save()
    return rows


def provenance_html(meta: dict) -> str:
    """Run facts and configuration; the checksum table is built by the page when opened (it can hold
    10,000 rows), from the embedded data."""
    fields = [("Workflow version", "workflow_version"), ("Genome build", "genome_build"),
              ("Knowledge base", "knowledgebase_version"), ("Run date", "run_date")]
    facts = "".join(f"<dt>{name}</dt><dd>{esc(meta.get(key)) or 'n/a'}</dd>" for name, key in fields)
    config = json.dumps(meta.get("config") or {}, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    n_files = len(meta.get("checksums") or [])
    return (
        f'<section id="provenance"><h2>Provenance</h2><dl class="summary">{facts}</dl>'
        f"<details><summary>Run configuration</summary><pre>{html.escape(config)}</pre></details>"
        f'<details id="checksums"><summary>Input files and SHA-256 checksums ({n_files})</summary>'
        '<div class="scroll tablebox" id="checksum-box"></div></details></section>'
    )

"""Compare the reader's counts with ../shared/vcf-corpus/expected.tsv (used by tests/test_corpus.py)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ctdna_monitor.vcf_reader import extract_sample, extract_site, open_vcf, sanity_check

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "vcf-corpus"


def _num(text):
    return None if text in ("NA", "", ".") else float(text)


def load_expected(corpus=CORPUS):
    with open(corpus / "expected.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def compare(corpus=CORPUS):
    """Yield (row, got_counts_or_None, problem_or_'') for every expected row."""
    rows = load_expected(corpus)
    by_file: dict[str, list[dict]] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    for name, expected in by_file.items():
        wanted = {(r["chrom"], int(r["pos"]), r["ref"], r["alt"]) for r in expected}
        found = {}
        with open_vcf(corpus / name) as vcf:
            for record in vcf:
                if not record.alts:
                    continue
                key = (record.chrom, record.pos, record.ref, record.alts[0])
                if key in wanted and key not in found:
                    found[key] = {
                        s: sanity_check(extract_sample(record, s, 0)) for s in record.samples
                    } | {".": sanity_check(extract_site(record, 0))}
        for row in expected:
            key = (row["chrom"], int(row["pos"]), row["ref"], row["alt"])
            if key not in found:
                yield row, None, "record not found"
                continue
            got = found[key][row["sample"]]
            yield row, got, _mismatch(row, got)


def _mismatch(row, got):
    problems = []
    for field, value in (("alt_count", got.alt_reads), ("depth", got.depth)):
        exp = _num(row[field])
        if (exp is None) != (value is None) or (exp is not None and int(exp) != int(value)):
            problems.append(f"{field} expected {row[field]} got {value}")
    exp_vaf = _num(row["vaf"])
    if (exp_vaf is None) != (got.vaf is None) or (
        exp_vaf is not None and not math.isclose(exp_vaf, got.vaf, abs_tol=1e-4)
    ):
        problems.append(f"vaf expected {row['vaf']} got {got.vaf}")
    return "; ".join(problems)


if __name__ == "__main__":
    total = bad = 0
    for row, got, problem in compare():
        total += 1
        if problem:
            bad += 1
            print(row["file"], row["chrom"], row["pos"], row["sample"], "|", problem, "|", got and got.dialect, got and got.flag)
    print(f"{total - bad}/{total} rows agree")

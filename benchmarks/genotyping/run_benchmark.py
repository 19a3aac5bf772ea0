"""Genotyping benchmark: ctdna-monitor's BAM counting against `bcftools mpileup -R` on the same files.

Both tools count the same tracked sites in every BAM, one BAM at a time, in this one process; the
order alternates per BAM so that cache and background load fall on both alike. Reported: total
seconds for each, their ratio, and how often the REF/ALT counts agree (SNVs and indels apart).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ctdna_monitor.genotype import GenotypeParams, genotype_sites

sys.path.insert(0, str(Path(__file__).parent))
from make_bams import dataset_arguments, make_dataset  # noqa: E402

PARAMS = GenotypeParams(min_mapping_quality=20, min_base_quality=20)


def bcftools_command(fasta: Path, regions: Path, bam: Path, out: Path) -> list[str]:
    """Filters matched to PARAMS: MAPQ and base quality 20, no BAQ, skip unmapped/secondary/QC-fail/
    duplicate/supplementary, keep anomalous pairs, no depth cap (SNVs: -d, indels: -L); overlap detection stays on."""
    return [
        "bcftools", "mpileup", "-f", str(fasta), "-R", str(regions), "-a", "AD,ADF,ADR", "-B", "-Q", "20",
        "-q", "20", "-A", "-d", "1000000", "-L", "1000000", "--ns", "UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY",
        "-Ob", "-o", str(out), str(bam),
    ]  # fmt: skip


def read_bcftools(path: Path) -> tuple[dict, dict]:
    """From the BCF: (chrom, pos, ref, alt) -> (ref count, alt count) for every listed ALT, and
    (chrom, pos) -> ref count of the site's SNV record (what a site without ALT reads gets)."""
    text = subprocess.run(
        ["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t[%AD]\n", str(path)], capture_output=True, text=True, check=True
    ).stdout
    alleles, reference = {}, {}
    for line in text.splitlines():
        chrom, pos, ref, alts, ad = line.split("\t")
        values = [int(x) for x in ad.split(",")]
        if len(ref) == 1 and not any(len(alt) > 1 and alt != "<*>" for alt in alts.split(",")):
            reference[(chrom, int(pos))] = values[0]
        for index, alt in enumerate(alts.split(","), start=1):
            # bcftools writes an indel with its own REF length; compare on the trimmed allele
            alleles[(chrom, int(pos), *_trim(ref, alt))] = (values[0], values[index])
    return alleles, reference


def _trim(ref: str, alt: str) -> tuple[str, str]:
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    return ref, alt


def main():
    parser = dataset_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    args = parser.parse_args()
    started = time.perf_counter()
    fasta, sites, bams = make_dataset(args.out, args.bams, args.sites, args.indels, args.depth, args.jobs)
    print(f"data: {len(bams)} BAMs ready in {time.perf_counter() - started:.0f} s (timing below is serial)", flush=True)
    regions = args.out / f"sites_s{args.sites}_i{args.indels}.tsv"
    regions.write_text("".join(f"{chrom}\t{pos}\n" for chrom, pos, _, _ in sites))
    (args.out / "bcf").mkdir(exist_ok=True)
    for bam in bams:  # warm the page cache so neither tool pays the first read
        bam.read_bytes()

    ours_seconds, bcftools_seconds, agree, compared = [], [], {"snv": 0, "indel": 0}, {"snv": 0, "indel": 0}
    differences = []
    for index, bam in enumerate(bams):
        bcf = args.out / "bcf" / (bam.stem + ".bcf")
        runs = ["ours", "bcftools"] if index % 2 == 0 else ["bcftools", "ours"]
        for run in runs:
            started = time.perf_counter()
            if run == "ours":
                rows = genotype_sites(bam, sites, PARAMS, str(fasta))
                ours_seconds.append(time.perf_counter() - started)
            else:
                subprocess.run(bcftools_command(fasta, regions, bam, bcf), check=True, stderr=subprocess.DEVNULL)
                bcftools_seconds.append(time.perf_counter() - started)
        theirs, reference_counts = read_bcftools(bcf)
        for row in rows:
            kind = "snv" if len(row["ref"]) == len(row["alt"]) else "indel"
            key = (row["chrom"], row["pos"], row["ref"], row["alt"])
            ours = (row["ref_forward"] + row["ref_reverse"], row["alt_reads"])
            other = theirs.get(key, (reference_counts.get(key[:2], 0), 0))
            compared[kind] += 1
            if ours == other:
                agree[kind] += 1
            else:
                differences.append((bam.name, *key, *ours, *other))

    total_ours, total_bcftools = sum(ours_seconds), sum(bcftools_seconds)
    lines = [
        "| BAMs | sites (indels) | depth | ctdna-monitor s | bcftools mpileup s | ratio | SNV counts equal | indel counts equal |",
        "|---|---|---|---|---|---|---|---|",
        f"| {len(bams)} | {args.sites} ({args.indels}) | ~{args.depth}x | {total_ours:.1f} | {total_bcftools:.1f} | "
        f"{total_ours / total_bcftools:.2f} | {agree['snv']}/{compared['snv']} | {agree['indel']}/{compared['indel']} |",
        "",
        f"per BAM, median: ctdna-monitor {statistics.median(ours_seconds):.3f} s, bcftools {statistics.median(bcftools_seconds):.3f} s",
    ]
    indel_seen = [(d[-3] > 0, d[-1] > 0) for d in differences if len(d[3]) != len(d[4])]
    lines.append(
        f"indel site-BAM pairs with ALT fragments here: {sum(o for o, _ in indel_seen) + agree['indel']}; "
        f"of those with a difference, bcftools listed the indel in {sum(o and t for o, t in indel_seen)}"
    )
    if differences:
        alt_gaps = [abs(d[-3] - d[-1]) for d in differences]
        ref_gaps = [abs(d[-4] - d[-2]) for d in differences]
        lines.append(f"differing site-BAM pairs: {len(differences)}; largest |alt difference| {max(alt_gaps)}, |ref difference| {max(ref_gaps)}")
    report = "\n".join(lines)
    print(report)
    (args.out / "result.md").write_text(report + "\n")
    with open(args.out / "differences.tsv", "w") as handle:
        handle.write("bam\tchrom\tpos\tref\talt\tref_ours\talt_ours\tref_bcftools\talt_bcftools\n")
        handle.writelines("\t".join(map(str, d)) + "\n" for d in differences)


if __name__ == "__main__":
    main()

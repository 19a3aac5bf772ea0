"""Write fixture VCFs with pysam from header lines and record dicts, as real callers lay them out."""

from __future__ import annotations

import pysam


def make_vcf(path, header_lines, samples, records, contigs=("chr1", "chr7", "chr12", "7", "12")):
    """Write `records` (dicts: chrom, pos, ref, alts, filter, info, fmt={sample: {key: value}})."""
    header = pysam.VariantHeader()
    for contig in contigs:
        header.contigs.add(contig)
    for line in header_lines:
        header.add_line(line)
    for sample in samples:
        header.add_sample(sample)
    mode = "wb" if str(path).endswith(".bcf") else ("wz" if str(path).endswith(".gz") else "w")
    with pysam.VariantFile(str(path), mode, header=header) as out:
        for spec in records:
            record = out.new_record(
                contig=spec["chrom"], start=spec["pos"] - 1, alleles=(spec["ref"], *spec["alts"])
            )
            for name in spec.get("filter", ["PASS"]):
                record.filter.add(name)
            for key, value in spec.get("info", {}).items():
                record.info[key] = value
            for sample, values in spec.get("fmt", {}).items():
                for key, value in values.items():
                    record.samples[sample][key] = value
            out.write(record)
    return path


def fmt(fid, number, ftype, desc="x"):
    return f'##FORMAT=<ID={fid},Number={number},Type={ftype},Description="{desc}">'


def info(fid, number, ftype, desc="x"):
    return f'##INFO=<ID={fid},Number={number},Type={ftype},Description="{desc}">'

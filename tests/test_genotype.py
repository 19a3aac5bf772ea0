"""Tumour-informed re-genotyping: read-level support counts in BAMs written here with pysam."""

import pysam
import pytest

from ctdna_monitor.genotype import GenotypeParams, count_site

REFERENCE = ("ACGTTGCAAGCTTCGATCGGATCCATGCAAGTCGTACGATCG" * 8)[:300]
PARAMS = GenotypeParams(min_mapping_quality=20, min_base_quality=20)


def read(name, start, seq=None, cigar=None, mapq=60, qual=35, reverse=False, flag=0, tags=(), mate=False):
    """A read dict; `seq` defaults to the reference from `start` (40 bases)."""
    seq = seq or REFERENCE[start : start + 40]
    return {"name": name, "start": start, "seq": seq, "cigar": cigar or [(0, len(seq))], "mapq": mapq,
            "qual": [qual] * len(seq), "reverse": reverse, "flag": flag, "tags": list(tags), "mate": mate}  # fmt: skip


def with_base(start, offset, base, length=40):
    seq = list(REFERENCE[start : start + length])
    seq[offset] = base
    return "".join(seq)


def make_bam(path, reads):
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr7", "LN": len(REFERENCE)}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for spec in sorted(reads, key=lambda r: r["start"]):
            segment = pysam.AlignedSegment(out.header)
            segment.query_name = spec["name"]
            segment.query_sequence = spec["seq"]
            segment.flag = spec["flag"] | (16 if spec["reverse"] else 0) | (1 | (128 if spec["mate"] else 64))
            segment.reference_id = 0
            segment.reference_start = spec["start"]
            segment.mapping_quality = spec["mapq"]
            segment.cigartuples = spec["cigar"]
            segment.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in spec["qual"]))
            for tag, value in spec["tags"]:
                segment.set_tag(tag, value)
            out.write(segment)
    pysam.index(str(path))
    return pysam.AlignmentFile(str(path))


POS = 121  # 1-based site; 0-based 120
REF_BASE = REFERENCE[POS - 1]
ALT_BASE = "T" if REF_BASE != "T" else "G"


def test_snv_counts_with_strands(tmp_path):
    reads = [read(f"alt{i}", 100, with_base(100, 20, ALT_BASE), reverse=i % 2 == 1) for i in range(4)]
    reads += [read(f"ref{i}", 90 + i) for i in range(6)]
    counts = count_site(make_bam(tmp_path / "a.bam", reads), "chr7", POS, REF_BASE, ALT_BASE, PARAMS)
    assert (counts.alt_reads, counts.ref_reads, counts.depth) == (4, 6, 10)
    assert (counts.alt_forward, counts.alt_reverse) == (2, 2)


def test_quality_duplicate_secondary_and_mapq_filters(tmp_path):
    alt_seq = with_base(100, 20, ALT_BASE)
    low_base = read("lowbq", 100, alt_seq)
    low_base["qual"][20] = 5
    reads = [
        read("good", 100, alt_seq), low_base, read("lowmq", 100, alt_seq, mapq=3),
        read("dup", 100, alt_seq, flag=1024), read("sec", 100, alt_seq, flag=256), read("qc", 100, alt_seq, flag=512),
    ]  # fmt: skip
    counts = count_site(make_bam(tmp_path / "f.bam", reads), "chr7", POS, REF_BASE, ALT_BASE, PARAMS)
    assert counts.alt_reads == 1  # only "good"; the low-quality base makes "lowbq" uninformative
    assert counts.depth == 2 and counts.other_reads == 1


def test_overlapping_mates_count_once_and_disagreeing_mates_not_at_all(tmp_path):
    alt_seq = with_base(100, 20, ALT_BASE)
    reads = [
        read("frag1", 100, alt_seq), read("frag1", 105, with_base(105, 15, ALT_BASE), reverse=True, mate=True),
        read("frag2", 100, alt_seq), read("frag2", 110, reverse=True, mate=True),
    ]  # fmt: skip
    counts = count_site(make_bam(tmp_path / "m.bam", reads), "chr7", POS, REF_BASE, ALT_BASE, PARAMS)
    assert (counts.alt_reads, counts.ref_reads, counts.depth) == (1, 0, 1)


def test_deletion_and_insertion_support(tmp_path):
    anchor = POS  # VCF deletion: ref = anchor + 3 deleted bases
    ref_allele = REFERENCE[anchor - 1 : anchor + 3]
    start = 100
    offset = anchor - 1 - start
    deleted_seq = REFERENCE[start : anchor] + REFERENCE[anchor + 3 : start + 43]
    deletion_reads = [
        read(f"del{i}", start, deleted_seq, cigar=[(0, offset + 1), (2, 3), (0, 40 - offset - 1)]) for i in range(3)
    ] + [read(f"ref{i}", start) for i in range(2)]
    bam = make_bam(tmp_path / "d.bam", deletion_reads)
    counts = count_site(bam, "chr7", anchor, ref_allele, ref_allele[0], PARAMS)
    assert (counts.alt_reads, counts.ref_reads) == (3, 2)
    # a 2-base deletion at the same anchor is a different allele
    assert count_site(bam, "chr7", anchor, ref_allele[:3], ref_allele[0], PARAMS).alt_reads == 0

    inserted = "GGA"
    ins_seq = REFERENCE[start : anchor] + inserted + REFERENCE[anchor : start + 37]
    insertion_reads = [
        read(f"ins{i}", start, ins_seq, cigar=[(0, offset + 1), (1, 3), (0, 40 - offset - 1 - 3)]) for i in range(2)
    ] + [read(f"ref{i}", start) for i in range(3)]
    bam = make_bam(tmp_path / "i.bam", insertion_reads)
    base = REFERENCE[anchor - 1]
    counts = count_site(bam, "chr7", anchor, base, base + inserted, PARAMS)
    assert (counts.alt_reads, counts.ref_reads) == (2, 3)
    assert count_site(bam, "chr7", anchor, base, base + "GG", PARAMS).alt_reads == 0


def test_umi_family_size_filter(tmp_path):
    alt_seq = with_base(100, 20, ALT_BASE)
    reads = [read("big", 100, alt_seq, tags=[("cD", 5)]), read("small", 100, alt_seq, tags=[("cD", 1)])]
    bam = make_bam(tmp_path / "u.bam", reads)
    assert count_site(bam, "chr7", POS, REF_BASE, ALT_BASE, PARAMS).alt_reads == 2
    strict = GenotypeParams(umi_family_tag="cD", min_family_size=3)
    assert count_site(bam, "chr7", POS, REF_BASE, ALT_BASE, strict).alt_reads == 1


@pytest.mark.skipif(__import__("shutil").which("samtools") is None, reason="samtools not installed")
def test_agrees_with_samtools_mpileup_on_snvs(tmp_path):
    import subprocess

    reads = [read(f"alt{i}", 95 + i, with_base(95 + i, 25 - i, ALT_BASE)) for i in range(5)]
    reads += [read(f"ref{i}", 85 + i) for i in range(9)]
    make_bam(tmp_path / "s.bam", reads)
    counts = count_site(pysam.AlignmentFile(str(tmp_path / "s.bam")), "chr7", POS, REF_BASE, ALT_BASE, PARAMS)
    out = subprocess.run(
        ["samtools", "mpileup", "-A", "-B", "-r", f"chr7:{POS}-{POS}", "-Q", "20", "-q", "20", str(tmp_path / "s.bam")],
        capture_output=True, text=True, check=True,
    ).stdout.split("\t")  # fmt: skip
    bases = out[4].upper()
    assert counts.alt_reads == bases.count(ALT_BASE) and counts.depth == int(out[3])


def test_cram_with_reference_and_contig_styles(tmp_path):
    from ctdna_monitor.genotype import genotype_sites

    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr7\n" + REFERENCE + "\n")
    pysam.faidx(str(fasta))
    reads = [read(f"alt{i}", 100, with_base(100, 20, ALT_BASE)) for i in range(3)] + [read("ref0", 95)]
    bam = make_bam(tmp_path / "c.bam", reads)
    cram = tmp_path / "c.cram"
    with pysam.AlignmentFile(str(cram), "wc", template=bam, reference_filename=str(fasta)) as out:
        for segment in bam.fetch(until_eof=True):
            out.write(segment)
    pysam.index(str(cram))
    rows = genotype_sites(cram, [("chr7", POS, REF_BASE, ALT_BASE), ("chr9", 5, "A", "G")], PARAMS, str(fasta))
    assert (rows[0]["alt_reads"], rows[0]["depth"]) == (3, 4)
    assert rows[1]["depth"] == 0  # a contig the file does not have: no coverage, not an error


def test_unindexed_or_broken_alignments_give_a_clear_error(tmp_path):
    from ctdna_monitor.errors import CtdnaError
    from ctdna_monitor.genotype import genotype_sites

    make_bam(tmp_path / "x.bam", [read("r", 100)])
    (tmp_path / "x.bam.bai").unlink()
    with pytest.raises(CtdnaError, match=r"x.bam: no index.*samtools index"):
        genotype_sites(tmp_path / "x.bam", [("chr7", POS, REF_BASE, ALT_BASE)])
    (tmp_path / "junk.bam").write_bytes(b"not a bam")
    with pytest.raises(CtdnaError, match="junk.bam: cannot be read"):
        genotype_sites(tmp_path / "junk.bam", [("chr7", POS, REF_BASE, ALT_BASE)])

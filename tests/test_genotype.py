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
    starts = {}  # mate positions, so that htslib's overlap detection (bcftools) sees the pairs
    for spec in reads:
        starts.setdefault(spec["name"], []).append((spec["start"], spec["reverse"]))
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
            mates = [m for m in starts[spec["name"]] if m != (spec["start"], spec["reverse"])]
            if mates:
                segment.flag |= 2 | (32 if mates[0][1] else 0)
                segment.next_reference_id, segment.next_reference_start = 0, mates[0][0]
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
    assert counts.alt_reads == 1  # only "good"; a base below min_base_quality does not count at all
    assert counts.depth == 1 and counts.other_reads == 0


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

    from ctdna_monitor.errors import CtdnaError

    with pytest.raises(CtdnaError, match="c.cram: a CRAM file needs its reference FASTA; set `reference`"):
        genotype_sites(cram, [("chr7", POS, REF_BASE, ALT_BASE)], PARAMS)
    with pytest.raises(CtdnaError, match=r"missing.fa: the reference FASTA cannot be read .*samtools faidx"):
        genotype_sites(cram, [("chr7", POS, REF_BASE, ALT_BASE)], PARAMS, str(tmp_path / "missing.fa"))


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


def test_mnv_needs_every_base_and_a_read_covering_all_of_them(tmp_path):
    mnv_ref = REFERENCE[POS - 1 : POS + 1]
    mnv_alt = "".join("T" if base != "T" else "G" for base in mnv_ref)
    both = with_base(100, 20, mnv_alt[0])
    both = both[:21] + mnv_alt[1] + both[22:]
    first_only = with_base(100, 20, mnv_alt[0])
    low_second = read("lowq", 100, both)
    low_second["qual"][21] = 5
    reads = [read(f"alt{i}", 100, both, reverse=i == 0) for i in range(3)]
    reads += [read(f"half{i}", 100, first_only) for i in range(2)] + [read(f"ref{i}", 95) for i in range(2)]
    reads += [read("short", POS - 21, REFERENCE[POS - 21 : POS])]  # ends on the first MNV base
    reads.append(low_second)
    counts = count_site(make_bam(tmp_path / "mnv.bam", reads), "chr7", POS, mnv_ref, mnv_alt, PARAMS)
    assert (counts.alt_reads, counts.ref_reads, counts.other_reads) == (3, 2, 2)
    assert (counts.alt_forward, counts.alt_reverse) == (2, 1)


def test_reads_that_end_at_an_indel_anchor_cannot_tell(tmp_path):
    anchor = POS
    ref_allele = REFERENCE[anchor - 1 : anchor + 2]  # a 2-base deletion after the anchor
    ends_at_anchor = read("short", anchor - 20, REFERENCE[anchor - 20 : anchor])
    reads = [ends_at_anchor, read("ref", 100)]
    counts = count_site(make_bam(tmp_path / "e.bam", reads), "chr7", anchor, ref_allele, ref_allele[0], PARAMS)
    assert (counts.alt_reads, counts.ref_reads, counts.depth) == (0, 1, 1)


def _random_pair_reads(rng, n_fragments):
    """Reads around POS with every filter case: flags, MAPQ at the threshold, low/edge base qualities,
    N bases, deletions and reference skips over the site, soft clips, overlapping mates that agree or not."""
    reads = []
    alt_choices = [REF_BASE, ALT_BASE, "N", next(b for b in "ACGT" if b not in (REF_BASE, ALT_BASE))]
    for index in range(n_fragments):
        name = f"f{index}"
        mates = 2 if rng.random() < 0.6 else 1
        for mate in range(mates):
            start = rng.randrange(POS - 38, POS - 1)
            offset = POS - 1 - start
            seq = list(REFERENCE[start : start + 40])
            seq[offset] = rng.choice(alt_choices)
            spec = read(name, start, "".join(seq), mapq=rng.choice([0, 19, 20, 21, 60, 60]), reverse=mate == 1,
                        flag=rng.choice([0] * 8 + [1024, 256, 512, 2048]), mate=mate == 1)  # fmt: skip
            spec["qual"] = [rng.choice([5, 19, 20, 21, 37, 37, 37]) for _ in seq]
            shape = rng.random()
            if shape < 0.1 and 2 < offset < 37:  # a deletion over the site
                spec["seq"] = "".join(seq[: offset - 1] + seq[offset + 1 :])
                spec["qual"] = spec["qual"][:38]
                spec["cigar"] = [(0, offset - 1), (2, 2), (0, 39 - offset)]
            elif shape < 0.15 and 2 < offset < 37:  # a reference skip over the site
                spec["cigar"] = [(0, offset - 1), (3, 3), (0, 41 - offset)]
            elif shape < 0.25 and offset > 3:  # soft-clipped start
                spec["cigar"] = [(4, 3), (0, 37)]
            reads.append(spec)
    return reads


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pileup_path_equals_read_walk_on_snvs(tmp_path, seed):
    from random import Random

    from ctdna_monitor.genotype import count_site_by_reads

    bam = make_bam(tmp_path / "r.bam", _random_pair_reads(Random(seed), 150))
    for params in (PARAMS, GenotypeParams(min_mapping_quality=0, min_base_quality=0, skip_duplicates=False)):
        for alt in ("A", "C", "G", "T"):
            if alt == REF_BASE:
                continue
            fast = count_site(bam, "chr7", POS, REF_BASE, alt, params)
            slow = count_site_by_reads(bam, "chr7", POS, REF_BASE, alt, params)
            assert fast == slow
            assert fast.depth > 20


def _bcftools_counts(bam_path, fasta, alt):
    """(AD ref, AD alt, ADF alt, ADR alt, ADF ref, ADR ref) at POS from bcftools mpileup with matching filters."""
    import subprocess

    command = (
        f"bcftools mpileup -f {fasta} -r chr7:{POS}-{POS} -a AD,ADF,ADR -B -Q 20 -q 20 -d 100000 -A "
        f"--ns UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY {bam_path} 2>/dev/null "
        "| bcftools query -f '%ALT\\t[%AD\\t%ADF\\t%ADR]\\n'"
    )
    alts, ad, adf, adr = subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout.split()
    index = alts.split(",").index(alt) + 1 if alt in alts.split(",") else None
    ad, adf, adr = ([int(x) for x in field.split(",")] for field in (ad, adf, adr))
    pick = (lambda values: values[index]) if index else (lambda values: 0)
    return ad[0], pick(ad), pick(adf), pick(adr), adf[0], adr[0]


@pytest.mark.skipif(__import__("shutil").which("bcftools") is None, reason="bcftools not installed")
def test_agrees_with_bcftools_mpileup_ad_adf_adr(tmp_path):
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr7\n" + REFERENCE + "\n")
    pysam.faidx(str(fasta))
    alt_seq = with_base(100, 20, ALT_BASE)
    low_base = read("lowbq", 100, alt_seq)
    low_base["qual"][20] = 5
    reads = [read(f"altF{i}", 100, alt_seq) for i in range(4)] + [read(f"altR{i}", 101, with_base(101, 19, ALT_BASE), reverse=True) for i in range(3)]
    reads += [read(f"refF{i}", 90 + i) for i in range(5)] + [read(f"refR{i}", 95 + i, reverse=True) for i in range(6)]
    reads += [low_base, read("lowmq", 100, alt_seq, mapq=5), read("dup", 100, alt_seq, flag=1024), read("supp", 100, alt_seq, flag=2048)]
    path = tmp_path / "b.bam"
    counts = count_site(make_bam(path, reads), "chr7", POS, REF_BASE, ALT_BASE, PARAMS)
    ref_ad, alt_ad, alt_f, alt_r, ref_f, ref_r = _bcftools_counts(path, fasta, ALT_BASE)
    assert (counts.alt_reads, counts.ref_reads) == (alt_ad, ref_ad) == (7, 11)
    assert (counts.alt_forward, counts.alt_reverse, counts.ref_forward, counts.ref_reverse) == (alt_f, alt_r, ref_f, ref_r)

    # overlapping mates that agree count once in both; which strand gets the fragment is a name hash in both
    for i in range(12):
        reads += [read(f"pairA{i}", 100, alt_seq), read(f"pairA{i}", 104, with_base(104, 16, ALT_BASE), reverse=True, mate=True)]
        reads += [read(f"pairR{i}", 92), read(f"pairR{i}", 96, reverse=True, mate=True, qual=30)]
    # two agreeing mates each below the base-quality floor: their summed quality passes, in both
    weak = [read("weak", 100, alt_seq, qual=12), read("weak", 104, with_base(104, 16, ALT_BASE), reverse=True, mate=True, qual=12)]
    # a low-quality mate that disagrees yields to the good one, in both
    mixed = [read("mixed", 100, alt_seq, qual=37), read("mixed", 104, reverse=True, mate=True, qual=8)]
    reads += weak + mixed
    counts = count_site(make_bam(path, reads), "chr7", POS, REF_BASE, ALT_BASE, PARAMS)
    ref_ad, alt_ad, *_ = _bcftools_counts(path, fasta, ALT_BASE)
    assert (counts.alt_reads, counts.ref_reads) == (alt_ad, ref_ad) == (21, 23)
    assert 0 < counts.alt_reverse - 3 < 12  # the 12 overlapping ALT fragments are split between strands


@pytest.mark.skipif(__import__("shutil").which("bcftools") is None, reason="bcftools not installed")
def test_disagreeing_mates_are_the_documented_difference_from_bcftools(tmp_path):
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr7\n" + REFERENCE + "\n")
    pysam.faidx(str(fasta))
    reads = [read("pair", 100, with_base(100, 20, ALT_BASE), qual=37), read("pair", 104, reverse=True, mate=True, qual=30)]
    reads += [read("solo", 95)]
    path = tmp_path / "d.bam"
    counts = count_site(make_bam(path, reads), "chr7", POS, REF_BASE, ALT_BASE, PARAMS)
    ref_ad, alt_ad, *_ = _bcftools_counts(path, fasta, ALT_BASE)
    assert (counts.alt_reads, counts.ref_reads) == (0, 1)  # ctdna-monitor: a fragment whose mates disagree is dropped
    assert (alt_ad, ref_ad) == (1, 1)  # htslib keeps the higher-quality mate's base


HOMOPOLYMER = REFERENCE[:112] + "AAAAAA" + REFERENCE[118:]  # 0-based 112..117 are A; 111 and 118 are not


def _homopolymer_reads(edit):
    """Reads over the homopolymer: 3 with `edit` ('del'/'ins' of one A, aligned left as aligners do), 2 plain."""
    plain = HOMOPOLYMER[100:140]
    if edit == "del":
        seq, cigar = HOMOPOLYMER[100:112] + HOMOPOLYMER[113:141], [(0, 12), (2, 1), (0, 28)]
    else:
        seq, cigar = HOMOPOLYMER[100:112] + "A" + HOMOPOLYMER[112:139], [(0, 12), (1, 1), (0, 27)]
    reads = [read(f"{edit}{i}", 100, seq, cigar=cigar) for i in range(3)] + [read(f"ref{i}", 100, plain) for i in range(2)]
    reads.append(read("inside", 80, HOMOPOLYMER[80:115]))  # ends inside the repeat: cannot tell
    return reads


def test_indels_in_a_repeat_match_wherever_the_caller_or_aligner_put_them(tmp_path):
    from ctdna_monitor.genotype import indel_window

    assert HOMOPOLYMER[111] != "A" and HOMOPOLYMER[118] != "A"
    deletion_bam = make_bam(tmp_path / "hd.bam", _homopolymer_reads("del"))
    shifted = (117, "AA", "A")  # the same deletion written at the right end of the repeat
    window = indel_window(*shifted, HOMOPOLYMER)
    assert (window.left, window.right) == (111, 116)
    assert indel_window(112, HOMOPOLYMER[111:113], HOMOPOLYMER[111], HOMOPOLYMER) == window
    counts = count_site(deletion_bam, "chr7", *shifted, PARAMS, window)
    assert (counts.alt_reads, counts.ref_reads, counts.depth) == (3, 2, 5)
    assert count_site(deletion_bam, "chr7", *shifted, PARAMS).alt_reads == 0  # no reference: no sliding

    insertion_bam = make_bam(tmp_path / "hi.bam", _homopolymer_reads("ins"))
    shifted = (118, "A", "AA")
    window = indel_window(*shifted, HOMOPOLYMER)
    assert (window.left, window.right) == (111, 117)
    counts = count_site(insertion_bam, "chr7", *shifted, PARAMS, window)
    assert (counts.alt_reads, counts.ref_reads, counts.depth) == (3, 2, 5)
    # a different inserted base in the same repeat is another allele
    assert count_site(insertion_bam, "chr7", 118, "A", "AC", PARAMS, indel_window(118, "A", "AC", HOMOPOLYMER)).alt_reads == 0


def test_reference_fasta_drives_sliding_and_checks_ref_alleles(tmp_path):
    from ctdna_monitor.errors import CtdnaError
    from ctdna_monitor.genotype import genotype_sites

    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr7\n" + HOMOPOLYMER + "\n")
    pysam.faidx(str(fasta))
    make_bam(tmp_path / "h.bam", _homopolymer_reads("del"))
    rows = genotype_sites(tmp_path / "h.bam", [("chr7", 117, "AA", "A")], PARAMS, str(fasta))
    assert (rows[0]["alt_reads"], rows[0]["depth"]) == (3, 5)
    wrong = "C" if HOMOPOLYMER[POS - 1] != "C" else "G"
    with pytest.raises(CtdnaError, match=rf"ref.fa: chr7:{POS} reads {HOMOPOLYMER[POS - 1]} here but a tracked allele has REF {wrong}"):
        genotype_sites(tmp_path / "h.bam", [("chr7", POS, wrong, "T")], PARAMS, str(fasta))


def test_alignments_of_another_build_or_without_the_sites_contigs_are_refused(tmp_path):
    from ctdna_monitor.errors import CtdnaError
    from ctdna_monitor.genome_builds import CHROMOSOME_LENGTHS
    from ctdna_monitor.genotype import genotype_sites

    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": name, "LN": length} for name, length in CHROMOSOME_LENGTHS["GRCh37"].items()]}
    path = tmp_path / "hg19.bam"
    with pysam.AlignmentFile(str(path), "wb", header=header):
        pass
    pysam.index(str(path))
    site = [("chr7", 55_249_071, "C", "T")]
    with pytest.raises(CtdnaError, match="hg19.bam: its contig lengths are those of GRCh37, but genome_build is GRCh38"):
        genotype_sites(path, site, PARAMS, build="GRCh38")
    assert genotype_sites(path, site, PARAMS, build="GRCh37")[0]["depth"] == 0
    with pytest.raises(CtdnaError, match=r"hg19.bam: none of the tracked sites' chromosomes \(chrUn_x\)"):
        genotype_sites(path, [("chrUn_x", 5, "A", "G")], PARAMS)

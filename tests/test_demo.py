"""The embedded demo cohort is deterministic and is what the generator writes."""

import gzip

import pysam

from ctdna_monitor.demo import make_demo


def _text(path):
    data = path.read_bytes()
    return gzip.decompress(data).decode() if path.suffix == ".gz" else data.decode()


def test_shipped_demo_matches_a_fresh_generation(root, tmp_path):
    shipped = root / "resources" / "demo"
    fresh = make_demo(tmp_path, root / "resources" / "resistance_mutations.tsv", shipped / "truncal_variants.tsv")
    for name in ("samples.tsv", "events.tsv"):
        assert (fresh / name).read_text() == (shipped / name).read_text()
    fresh_vcfs = sorted(p.name for p in (fresh / "vcf").iterdir())
    assert fresh_vcfs == sorted(p.name for p in (shipped / "vcf").iterdir())
    for name in fresh_vcfs:
        assert _text(fresh / "vcf" / name) == _text(shipped / "vcf" / name), name


def _reads(path):
    with pysam.AlignmentFile(str(path)) as bam:
        return [read.to_string() for read in bam.fetch(until_eof=True)]


def test_shipped_demo_bams_match_a_fresh_generation(root, tmp_path):
    shipped = root / "resources" / "demo"
    fresh = make_demo(tmp_path, root / "resources" / "resistance_mutations.tsv", shipped / "truncal_variants.tsv")
    names = sorted(p.name for p in (fresh / "bam").glob("*.bam"))
    assert names and names == sorted(p.name for p in (shipped / "bam").glob("*.bam"))
    for name in names:
        assert _reads(fresh / "bam" / name) == _reads(shipped / "bam" / name), name

"""Write small VCFs in the dialects of common callers (for the demo cohort and the tests).

Each writer takes the plasma draw's variants as `SimVariant`s with alt/depth counts
and writes a file whose FORMAT fields follow that caller's conventions, so the
reader is exercised exactly as on real caller output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pysam

from .annotation import THREE_TO_ONE

# VarScan2 really declares AD as Number=1 (alt reads only); htslib warns about that on write.
pysam.set_verbosity(0)

ONE_TO_THREE = {one: three for three, one in THREE_TO_ONE.items()}
CONTIGS = {f"chr{c}": None for c in [*range(1, 23), "X", "Y"]}
CSQ_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Feature|HGVSc|HGVSp|CANONICAL"
BCSQ_FORMAT = "Consequence|gene|transcript|biotype|strand|amino_acid_change|dna_change"


@dataclass
class SimVariant:
    chrom: str
    pos: int
    ref: str
    alt: str
    alt_reads: int
    depth: int
    gene: str = ""
    protein_change: str = ""  # short form, e.g. T790M
    transcript: str = ""
    hgvs_c: str = ""
    normal_depth: int = 0
    extra: dict = field(default_factory=dict)


def long_protein(short: str) -> str:
    """T790M -> p.Thr790Met (for writing VEP/SnpEff annotations)."""
    out = []
    for char in short:
        out.append(ONE_TO_THREE.get(char, char) if char.isupper() or char == "*" else char)
    return "p." + "".join(out)


def _header(samples, formats, infos=(), meta=()) -> pysam.VariantHeader:
    header = pysam.VariantHeader()
    for key, value in meta:
        header.add_meta(key, value)
    for contig in CONTIGS:
        header.contigs.add(contig)
    header.filters.add("weak_evidence", None, None, "Evidence below the caller's threshold")
    for fid, number, ftype, desc in formats:
        header.formats.add(fid, number, ftype, desc)
    for fid, number, ftype, desc in infos:
        header.info.add(fid, number, ftype, desc)
    for sample in samples:
        header.add_sample(sample)
    return header


def _annotation_infos(annotation):
    if annotation == "vep":
        return [("CSQ", ".", "String", f"Consequence annotations from Ensembl VEP. Format: {CSQ_FORMAT}")]
    if annotation == "bcsq":
        return [("BCSQ", ".", "String", f"Haplotype-aware consequence annotation from BCFtools/csq. Format: {BCSQ_FORMAT}")]
    if annotation == "snpeff":
        return [("ANN", ".", "String", "Functional annotations: 'Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | HGVS.p'")]
    return []


def _annotate(record, variant: SimVariant, annotation):
    if not variant.gene or annotation is None:
        return
    protein = long_protein(variant.protein_change) if variant.protein_change else ""
    consequence = "missense_variant" if protein else "intron_variant"
    hgvs_c = f"{variant.transcript}:{variant.hgvs_c}" if variant.hgvs_c else ""
    if annotation == "vep":
        fields = [variant.alt, consequence, "MODERATE", variant.gene, variant.transcript, hgvs_c, protein, "YES"]
        record.info["CSQ"] = "|".join(fields)
    elif annotation == "bcsq":
        aa = ""
        if variant.protein_change and variant.protein_change[1:-1].isdigit():
            number = variant.protein_change[1:-1]
            aa = f"{number}{variant.protein_change[0]}>{number}{variant.protein_change[-1]}"
        dna = f"{variant.pos}{variant.ref}>{variant.alt}"
        record.info["BCSQ"] = "|".join(["missense", variant.gene, variant.transcript, "protein_coding", ".", aa, dna])
    elif annotation == "snpeff":
        fields = [variant.alt, consequence, "MODERATE", variant.gene, variant.gene, "transcript", variant.transcript, "protein_coding", "", variant.hgvs_c, protein]
        record.info["ANN"] = "|".join(fields)


def write_vcf(path, dialect: str, sample: str, variants: list[SimVariant], annotation=None) -> Path:
    """Write `variants` of one plasma sample in a caller's dialect; returns the path."""
    writer = _WRITERS[dialect]
    path = Path(path)
    header, fill = writer(sample, annotation)
    mode = "wz" if str(path).endswith(".gz") else "w"
    ordered = sorted(variants, key=lambda v: (list(CONTIGS).index(v.chrom), v.pos))
    with pysam.VariantFile(str(path), mode, header=header) as out:
        for variant in ordered:
            record = out.new_record(contig=variant.chrom, start=variant.pos - 1, alleles=(variant.ref, variant.alt))
            record.filter.add("PASS" if variant.alt_reads >= 3 else "weak_evidence")
            fill(record, variant)
            _annotate(record, variant, annotation)
            out.write(record)
    return path


def _vaf(variant):
    return round(variant.alt_reads / variant.depth, 4) if variant.depth else 0.0


def _mutect2(sample, annotation):
    header = _header(
        ["NORMAL", sample],
        [("GT", 1, "String", "Genotype"), ("AD", "R", "Integer", "Allelic depths"),
         ("AF", "A", "Float", "Allele fractions of alternate alleles in the tumor"),
         ("DP", 1, "Integer", "Approximate read depth")],  # fmt: skip
        _annotation_infos(annotation),
        meta=[("source", "Mutect2"), ("tumor_sample", sample), ("normal_sample", "NORMAL")],
    )

    def fill(record, v):
        normal = v.normal_depth or 800
        record.samples["NORMAL"].update(GT=(0, 0), AD=(normal, 0), AF=(0.0,), DP=normal)
        record.samples[sample].update(GT=(0, 1), AD=(v.depth - v.alt_reads, v.alt_reads), AF=(_vaf(v),), DP=v.depth)

    return header, fill


def _vardict(sample, annotation):
    header = _header(
        [sample],
        [("GT", 1, "String", "Genotype"), ("DP", 1, "Integer", "Total Depth"), ("VD", 1, "Integer", "Variant Depth"),
         ("AD", "R", "Integer", "Allelic depths for the ref and alt alleles"), ("AF", "A", "Float", "Allele Frequency")],  # fmt: skip
        _annotation_infos(annotation),
        meta=[("source", "VarDict_v1.8.2")],
    )

    def fill(record, v):
        record.samples[sample].update(
            GT=(0, 1), DP=v.depth, VD=v.alt_reads, AD=(v.depth - v.alt_reads, v.alt_reads), AF=(_vaf(v),)
        )

    return header, fill


def _strelka2(sample, annotation):
    header = _header(
        ["NORMAL", "TUMOR"],
        [("DP", 1, "Integer", "Read depth for tier1 (used+filtered)")]
        + [(f"{b}U", 2, "Integer", f"Number of '{b}' alleles used in tiers 1,2") for b in "ACGT"],
        _annotation_infos(annotation),
        meta=[("source", "strelka"), ("source_version", "2.9.10")],
    )

    def fill(record, v):
        counts = {b: (0, 0) for b in "ACGT"}
        counts[v.ref] = (v.depth - v.alt_reads, v.depth - v.alt_reads)
        counts[v.alt] = (v.alt_reads, v.alt_reads)
        record.samples["TUMOR"].update(DP=v.depth, **{f"{b}U": c for b, c in counts.items()})
        normal = v.normal_depth or 600
        record.samples["NORMAL"].update(DP=normal, **{f"{b}U": ((normal, normal) if b == v.ref else (0, 0)) for b in "ACGT"})

    return header, fill


def _freebayes(sample, annotation):
    header = _header(
        [sample],
        [("GT", 1, "String", "Genotype"), ("DP", 1, "Integer", "Read Depth"),
         ("RO", 1, "Integer", "Reference allele observation count"), ("AO", "A", "Integer", "Alternate allele observation count")],  # fmt: skip
        _annotation_infos(annotation),
        meta=[("source", "freeBayes v1.3.6")],
    )

    def fill(record, v):
        record.samples[sample].update(GT=(0, 1), DP=v.depth, RO=v.depth - v.alt_reads, AO=(v.alt_reads,))

    return header, fill


def _varscan2(sample, annotation):
    header = _header(
        ["NORMAL", "TUMOR"],
        [("GT", 1, "String", "Genotype"), ("DP", 1, "Integer", "Read Depth"), ("RD", 1, "Integer", "Depth of reference-supporting bases"),
         ("AD", 1, "Integer", "Depth of variant-supporting bases"), ("FREQ", 1, "String", "Variant allele frequency")],  # fmt: skip
        _annotation_infos(annotation),
        meta=[("source", "VarScan2")],
    )

    def fill(record, v):
        normal = v.normal_depth or 500
        record.samples["NORMAL"].update(GT=(0, 0), DP=normal, RD=normal, AD=0, FREQ="0%")
        freq = f"{100 * v.alt_reads / v.depth:.2f}%"
        record.samples["TUMOR"].update(GT=(0, 1), DP=v.depth, RD=v.depth - v.alt_reads, AD=v.alt_reads, FREQ=freq)

    return header, fill


def _bcftools(sample, annotation):
    header = _header(
        [sample],
        [("GT", 1, "String", "Genotype"), ("DP", 1, "Integer", "Number of high-quality bases"),
         ("AD", "R", "Integer", "Allelic depths (high-quality bases)")],  # fmt: skip
        _annotation_infos(annotation),
        meta=[("source", "bcftools call")],
    )

    def fill(record, v):
        record.samples[sample].update(GT=(0, 1), DP=v.depth, AD=(v.depth - v.alt_reads, v.alt_reads))

    return header, fill


def _vaf_only(sample, annotation):
    header = _header(
        [sample],
        [("GT", 1, "String", "Genotype"), ("AF", "A", "Float", "Variant allele fraction as reported by the assay")],
        _annotation_infos(annotation),
        meta=[("source", "vendor report converted to VCF")],
    )

    def fill(record, v):
        record.samples[sample].update(GT=(0, 1), AF=(_vaf(v),))

    return header, fill


_WRITERS = {
    "mutect2": _mutect2,
    "vardict": _vardict,
    "strelka2": _strelka2,
    "freebayes": _freebayes,
    "varscan2": _varscan2,
    "bcftools": _bcftools,
    "vaf_only": _vaf_only,
}
DIALECTS = tuple(_WRITERS)


BAM_CONTIG_LENGTH = 1 << 28  # synthetic header: long enough for any GRCh38 position used here
READ_LENGTH = 60


def write_bam(path, variants: list[SimVariant], rng) -> Path:
    """Reads carrying each variant's REF or ALT base (alt_reads of depth).

    Synthetic: the reference sequence around a site is unknown here, so every read aligns only its
    site base and soft-clips the rest (random bases), which keeps neighbouring sites untouched. SNVs only.
    """
    path = Path(path)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": BAM_CONTIG_LENGTH} for c in CONTIGS]}
    contig_index = {c: i for i, c in enumerate(CONTIGS)}
    reads = []
    for v_index, variant in enumerate(variants):
        for r_index in range(variant.depth):
            offset = int(rng.integers(2, READ_LENGTH - 2))
            bases = list(rng.choice(list("ACGT"), READ_LENGTH))
            bases[offset] = variant.alt if r_index < variant.alt_reads else variant.ref
            reads.append((contig_index[variant.chrom], variant.pos - 1, f"v{v_index}r{r_index}",
                          "".join(bases), bool(rng.integers(0, 2)), offset))  # fmt: skip
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for contig, start, name, sequence, reverse, offset in sorted(reads):
            segment = pysam.AlignedSegment(out.header)
            segment.query_name, segment.query_sequence = name, sequence
            segment.flag = 16 if reverse else 0
            segment.reference_id, segment.reference_start = contig, start
            segment.mapping_quality = 60
            segment.cigartuples = [(4, offset), (0, 1), (4, READ_LENGTH - offset - 1)]
            segment.query_qualities = pysam.qualitystring_to_array("I" * READ_LENGTH)
            out.write(segment)
    pysam.index(str(path))
    return path

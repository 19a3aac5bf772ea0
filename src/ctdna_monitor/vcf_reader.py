"""Read per-draw VCF/BCF files from any common caller into per-allele count rows.

For the plasma sample of a VCF, every concrete ALT allele (multi-allelic records
are split) gives one row: chrom, pos, ref, alt, alt_reads, depth, vaf, filter,
gene, protein_change, the count convention used ("dialect") and a flag that
explains any value left missing. The convention is chosen per record from the
FORMAT keys, because merged/ensemble VCFs change FORMAT from record to record.

Missing values stay missing (None), never 0, and an impossible value (alt > depth,
an AD array of the wrong length) is flagged and left missing instead of being
divided into a plausible-looking wrong number. A written allele fraction that
cannot come from the record's counts (percent scale, decimal comma, outside a
binomial band) is flagged and replaced by alt/depth (vcf_checks); a record whose
ALT equals its REF, and an allele listed twice with different values, are
flagged with their values missing. Which value becomes the VAF for each dialect:
config/README.md, "Which number becomes the VAF".
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gzip
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pysam

from .annotation import Annotator
from .errors import VcfError
from .variants import canonical_chrom, is_concrete_allele, normalise_alleles
from .vcf_checks import alt_equals_ref, merge_duplicates, percent_scale_file, review_fraction

# htslib prints its own warnings (missing index, odd headers) to stderr; our errors say more.
pysam.set_verbosity(0)

BASES = ("A", "C", "G", "T")


@dataclass
class Counts:
    alt_reads: int | None
    depth: int | None
    vaf: float | None
    dialect: str
    flag: str = ""
    # Sum of AD where the caller writes it beside FORMAT/DP: AF-estimating callers (Mutect2, SAGE)
    # divide by informative reads only. Used only to judge a written fraction (vcf_checks).
    informative_depth: int | None = None
    # Why a written fraction could not be read (a decimal comma, too few values): vcf_checks decides.
    vaf_problem: str = ""


@dataclass
class AlleleCall:
    chrom: str
    pos: int
    ref: str
    alt: str
    gene: str
    protein_change: str
    alt_reads: int | None
    depth: int | None
    vaf: float | None
    filter: str
    dialect: str
    flag: str


CALL_COLUMNS = list(AlleleCall.__dataclass_fields__)


# --------------------------------------------------------------------------- opening


def _is_plain_gzip(path: Path) -> bool:
    """True for gzip that is not BGZF (htslib cannot read those: it needs to seek)."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head[:2] != b"\x1f\x8b":
        return False
    has_extra = len(head) > 3 and head[3] & 4
    return not (has_extra and head[12:14] == b"BC")


@contextlib.contextmanager
def open_vcf(path):
    """Open a VCF/VCF.gz/BCF with pysam; plain-gzip files are decompressed to a temporary file."""
    path = Path(path)
    if not path.exists():
        raise VcfError(path, "file not found; check the path in the sample sheet")
    if path.is_dir():
        raise VcfError(path, "is a folder, not a VCF/BCF file; give the file's path in the sample sheet's vcf column")
    try:
        size = path.stat().st_size
        plain_gzip = size > 0 and _is_plain_gzip(path)
    except OSError as exc:
        raise VcfError(path, f"cannot be read ({exc.strerror}); check the file's permissions") from None
    if size == 0:
        raise VcfError(path, "file is empty (0 bytes); re-run the variant caller or re-copy the file")
    temp_name = None
    source = path
    try:
        if plain_gzip:
            # Plain gzip cannot be opened by htslib; decompress it as a stream.
            fd, temp_name = tempfile.mkstemp(suffix=".vcf")
            try:
                with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
            except (OSError, EOFError) as exc:
                if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
                    raise VcfError(path, f"no space left in the temporary folder ({tempfile.gettempdir()}) to decompress "
                                         "this plain-gzip file; free space there or set TMPDIR, or bgzip the file") from None  # fmt: skip
                raise VcfError(path, f"gzip stream is corrupt or truncated ({exc}); re-copy the file") from None
            source = Path(temp_name)
        try:
            handle = pysam.VariantFile(str(source))
        except (ValueError, OSError) as exc:
            raise VcfError(path, _explain_open_error(exc)) from None
        try:
            yield handle
        finally:
            handle.close()
    finally:
        if temp_name:
            os.unlink(temp_name)


def _explain_open_error(exc: Exception) -> str:
    text = str(exc)
    if "EOF" in text or "truncated" in text:
        return f"file is truncated (htslib: {text}); re-copy it from its source"
    if "header" in text or "invalid file" in text:
        return (
            "not a readable VCF/BCF: the header is missing or malformed "
            "(a VCF must start with a ##fileformat line and have a #CHROM line)"
        )
    return f"cannot be opened as VCF/BCF ({text})"


# --------------------------------------------------------------------------- sample choice


def choose_sample(header, requested: str | None, draw_id: str | None, path) -> str | None:
    """The sample column holding the plasma sample (None for a file without samples)."""
    samples = list(header.samples)
    if requested:
        if requested in samples:
            return requested
        raise VcfError(
            path,
            f"vcf_sample '{requested}' is not a sample column; the columns are: "
            f"{', '.join(samples) or '(none)'}; fix the vcf_sample column of the sample sheet",
        )
    if not samples:
        return None
    if len(samples) == 1:
        return samples[0]
    for record in header.records:
        if record.key == "tumor_sample" and record.value in samples:
            return record.value
    if draw_id:
        for name in samples:
            if name.lower() == draw_id.lower():
                return name
        named_like = [name for name in samples if draw_id.lower() in name.lower()]
        if len(named_like) == 1:
            return named_like[0]
    for name in samples:
        if name.upper() == "TUMOR":
            return name
    raise VcfError(
        path,
        f"cannot tell which sample column is the plasma sample; the columns are: "
        f"{', '.join(samples)}; set vcf_sample in the sample sheet",
    )


# --------------------------------------------------------------------------- value access


class _Bad(Exception):
    """A value that cannot be used; the message becomes the row's flag."""


def _get(data, key):
    try:
        return data.get(key)
    except (ValueError, KeyError, TypeError):
        return None


def _at(value, index: int, key: str):
    """Element `index` of a possibly scalar value; flags arrays too short to hold it."""
    if value is None:
        return None
    if isinstance(value, tuple):
        if index >= len(value):
            raise _Bad(f"{key}_has_{len(value)}_values")
        return value[index]
    if index == 0:
        return value
    raise _Bad(f"{key}_has_1_value")


def _int(value):
    if value is None:
        return None
    return int(value)


def _float(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value in ("", "."):
            return None
        return float(value.rstrip("%"))
    return float(value)


def _ratio(alt, depth):
    if alt is None or depth is None or depth <= 0:
        return None
    return alt / depth


def _allele_indexed(values, n_alleles: int, key: str):
    """Check a Number=R array covers every allele (Pisces 'crushed' records do not)."""
    if values is None:
        return None
    if not isinstance(values, tuple):
        values = (values,)
    if len(values) != n_alleles:
        raise _Bad(f"{key}_has_{len(values)}_values_for_{n_alleles}_alleles")
    return values


def _written_vaf(record, values, key: str, alt_index: int, site: bool = False) -> tuple[float | None, str]:
    """(fraction of ALT `alt_index` as the caller wrote it, problem); the header's Number says how many
    values there must be, so a decimal comma ('0,36' read as two numbers) is caught, not read as 0."""
    if values is None:
        return None, ""
    values = values if isinstance(values, tuple) else (values,)
    try:
        declared = (record.header.info if site else record.header.formats)[key].number
    except KeyError:
        declared = None
    n_alts = len(record.alts)
    expected = {"A": n_alts, "R": n_alts + 1, 1: 1}.get(declared)
    index = alt_index + 1 if declared == "R" else alt_index
    if expected is not None and len(values) != expected:
        first = values[0]
        whole = (isinstance(first, float) and first.is_integer()) or (isinstance(first, str) and first.strip().isdigit())
        comma = len(values) == expected + 1 and whole
        return None, f"{key}_has_{len(values)}_values_for_{expected}" + ("_decimal_comma" if comma else "")
    if index >= len(values):
        return None, f"{key}_has_{len(values)}_values"
    value = values[index]
    if isinstance(value, str) and "," in value:
        return None, f"{key}_decimal_comma"
    try:
        return _float(value), ""
    except ValueError:
        return None, f"{key}_not_a_number"


def _sum_ad(ad):
    return None if ad is None or None in ad else sum(int(v) for v in ad)


# --------------------------------------------------------------------------- count conventions


def extract_sample(record, sample: str, alt_index: int) -> Counts:
    """Alt reads, depth and VAF of one ALT allele in one sample column."""
    data = record.samples[sample]
    keys = set(record.format.keys())
    ref, alt = record.ref, record.alts[alt_index]
    n_alleles = len(record.alleles)
    try:
        if {"AU", "CU", "GU", "TU"} <= keys and len(ref) == 1 and len(alt) == 1:
            return _strelka_snv(data, ref, alt)
        if {"TAR", "TIR"} <= keys:
            alt_n, ref_n = _int(_at(_get(data, "TIR"), 0, "TIR")), _int(_at(_get(data, "TAR"), 0, "TAR"))
            depth = None if alt_n is None or ref_n is None else alt_n + ref_n
            return Counts(alt_n, depth, _ratio(alt_n, depth), "strelka2_indel")
        if "LAD" in keys and "AD" not in keys:
            return _local_alleles(data, alt_index)
        if "FREQ" in keys:
            return _varscan(record, data, alt_index, n_alleles)
        if "AO" in keys:  # FreeBayes
            alt_n = _int(_at(_get(data, "AO"), alt_index, "AO"))
            depth = _int(_get(data, "DP"))
            if depth is None:
                ro = _int(_get(data, "RO"))
                ao_all = _get(data, "AO")
                ao_all = ao_all if isinstance(ao_all, tuple) else (ao_all,)
                if ro is not None and None not in ao_all:
                    depth = ro + sum(int(v) for v in ao_all)
            return Counts(alt_n, depth, _ratio(alt_n, depth), "freebayes")
        if {"AC", "AF", "DP"} <= keys and "AD" not in keys:  # umiVar2
            alt_n = _int(_at(_get(data, "AC"), alt_index, "AC"))
            vaf, problem = _written_vaf(record, _get(data, "AF"), "AF", alt_index)
            return Counts(alt_n, _int(_get(data, "DP")), vaf, "umivar2", vaf_problem=problem)
        if "VF" in keys:  # Pisces / CallSomaticVariants
            ad = _allele_indexed(_get(data, "AD"), n_alleles, "AD")
            alt_n = None if ad is None else _int(ad[alt_index + 1])
            depth = _int(_get(data, "DP"))
            if depth is None:
                depth = _int(_info(record, "DP"))
            vaf, problem = _written_vaf(record, _get(data, "VF"), "VF", alt_index)
            return Counts(alt_n, depth, vaf, "pisces", informative_depth=_sum_ad(ad), vaf_problem=problem)
        if "VAF" in keys:  # DeepVariant / DeepSomatic
            ad = _allele_indexed(_get(data, "AD"), n_alleles, "AD")
            alt_n = None if ad is None else _int(ad[alt_index + 1])
            vaf, problem = _written_vaf(record, _get(data, "VAF"), "VAF", alt_index)
            return Counts(alt_n, _int(_get(data, "DP")), vaf, "deepvariant", informative_depth=_sum_ad(ad), vaf_problem=problem)
        if "AD" in keys:
            return _allele_depth(record, data, keys, alt_index, n_alleles)
        if "VD" in keys:  # VarDict without AD
            alt_n = _int(_get(data, "VD"))
            vaf, problem = _written_vaf(record, _get(data, "AF"), "AF", alt_index)
            return Counts(alt_n, _int(_get(data, "DP")), vaf, "vardict", vaf_problem=problem)
        if "DV" in keys:  # bcftools call: DV counts all non-reference bases
            alt_n, depth = _int(_get(data, "DV")), _int(_get(data, "DP"))
            return Counts(alt_n, depth, _ratio(alt_n, depth), "bcftools_dv")
        if "NV" in keys:  # Platypus >= 0.8
            alt_n = _int(_at(_get(data, "NV"), alt_index, "NV"))
            depth = _int(_at(_get(data, "NR"), alt_index, "NR"))
            return Counts(alt_n, depth, _ratio(alt_n, depth), "platypus")
        if "NR" in keys:  # Platypus 0.1.x: no per-sample alt count
            return Counts(None, _int(_at(_get(data, "NR"), alt_index, "NR")), None, "platypus_nr_only")
        if "AF" in keys:  # Clair3, or VAF-only files converted from vendor reports
            vaf, problem = _written_vaf(record, _get(data, "AF"), "AF", alt_index)
            return Counts(None, _int(_get(data, "DP")), vaf, "vaf_only", vaf_problem=problem)
        return Counts(None, _int(_get(data, "DP")), None, "no_counts")
    except _Bad as bad:
        return Counts(None, None, None, "invalid", str(bad))
    except (TypeError, ValueError) as exc:
        return Counts(None, None, None, "invalid", f"unparseable_value:{exc}")


def _varscan(record, data, alt_index, n_alleles) -> Counts:
    """VarScan2 writes AD as the alt count alone (Number=1) and FREQ as a percent string.

    Some merged files re-declare AD as Number=R and FREQ as a Float fraction; the
    header decides which reading applies.
    """
    formats = record.header.formats
    if "AD" in formats and formats["AD"].number == "R":
        ad = _allele_indexed(_get(data, "AD"), n_alleles, "AD")
        alt_n = None if ad is None else _int(ad[alt_index + 1])
    else:
        alt_n = _int(_at(_get(data, "AD"), alt_index, "AD"))
    raw = _get(data, "FREQ")
    freq, problem = _written_vaf(record, raw, "FREQ", alt_index)
    first = raw[0] if isinstance(raw, tuple) and raw else raw
    percent = (isinstance(first, str) and first.strip().endswith("%")) or formats["FREQ"].type == "String"
    vaf = None if freq is None else (freq / 100.0 if percent else freq)
    return Counts(alt_n, _int(_get(data, "DP")), vaf, "varscan2", vaf_problem=problem)


def _strelka_snv(data, ref, alt) -> Counts:
    alt_n = _int(_at(_get(data, f"{alt}U"), 0, f"{alt}U"))
    ref_n = _int(_at(_get(data, f"{ref}U"), 0, f"{ref}U"))
    depth = None if alt_n is None or ref_n is None else alt_n + ref_n
    return Counts(alt_n, depth, _ratio(alt_n, depth), "strelka2_snv")


def _local_alleles(data, alt_index) -> Counts:
    """VCF 4.5 local alleles: LAA lists the global allele index of each local ALT."""
    lad, laa = _get(data, "LAD"), _get(data, "LAA")
    if lad is None:
        return Counts(None, None, None, "local_alleles", "LAD_missing")
    # LAA '.' means the sample has no local ALT alleles: every global ALT has 0 reads.
    laa = tuple(v for v in (laa if isinstance(laa, tuple) else (laa,)) if v is not None)
    lad = lad if isinstance(lad, tuple) else (lad,)
    if None in lad or len(lad) != len(laa) + 1:
        return Counts(None, None, None, "local_alleles", "LAD_length_mismatch")
    depth = sum(int(v) for v in lad)
    global_index = alt_index + 1
    alt_n = int(lad[laa.index(global_index) + 1]) if global_index in laa else 0
    return Counts(alt_n, depth, _ratio(alt_n, depth), "local_alleles")


def _allele_depth(record, data, keys, alt_index, n_alleles) -> Counts:
    """AD-based callers: Mutect2, VarDict, DRAGEN, SAGE (with AF) and GATK HaplotypeCaller (without)."""
    ad = _allele_indexed(_get(data, "AD"), n_alleles, "AD")
    if ad is None:
        return Counts(None, _int(_get(data, "DP")), None, "allele_depth")
    alt_n = _int(ad[alt_index + 1])
    if "AF" in keys:
        depth = _int(_get(data, "DP"))
        if depth is None and None not in ad:
            depth = sum(int(v) for v in ad)
        vaf, problem = _written_vaf(record, _get(data, "AF"), "AF", alt_index)
        if vaf is None and not problem:
            vaf = _ratio(alt_n, depth)
        return Counts(alt_n, depth, vaf, "allele_depth_af", informative_depth=_sum_ad(ad), vaf_problem=problem)
    # GATK HaplotypeCaller: FORMAT/DP may disagree with the reads AD counts, so use sum(AD).
    depth = None if None in ad else sum(int(v) for v in ad)
    return Counts(alt_n, depth, _ratio(alt_n, depth), "allele_depth")


def _info(record, key):
    try:
        return record.info.get(key)
    except (ValueError, KeyError):
        return None


def extract_site(record, alt_index: int) -> Counts:
    """Site-level counts for files without sample columns (LoFreq, legacy samtools, Platypus)."""
    try:
        tc, tr = _info(record, "TC"), _info(record, "TR")
        if tc is not None and tr is not None:
            alt_n, depth = _int(_at(tr, alt_index, "TR")), _int(_at(tc, 0, "TC"))
            return Counts(alt_n, depth, _ratio(alt_n, depth), "platypus_site")
        dp4 = _info(record, "DP4")
        af = _info(record, "AF")
        if dp4 is not None and len(dp4) == 4 and None not in dp4:
            alt_n = int(dp4[2]) + int(dp4[3])
            if af is not None:  # LoFreq: depth from INFO/DP, AF as written
                depth = _int(_info(record, "DP"))
                vaf, problem = _written_vaf(record, af, "AF", alt_index, site=True)
                return Counts(alt_n, depth, vaf, "lofreq", informative_depth=sum(int(v) for v in dp4), vaf_problem=problem)
            depth = sum(int(v) for v in dp4)
            return Counts(alt_n, depth, _ratio(alt_n, depth), "samtools_dp4")
        if af is not None:
            vaf, problem = _written_vaf(record, af, "AF", alt_index, site=True)
            return Counts(None, _int(_info(record, "DP")), vaf, "vaf_only", vaf_problem=problem)
        return Counts(None, _int(_info(record, "DP")), None, "no_counts")
    except _Bad as bad:
        return Counts(None, None, None, "invalid", str(bad))
    except (TypeError, ValueError) as exc:
        return Counts(None, None, None, "invalid", f"unparseable_value:{exc}")


def sanity_check(counts: Counts) -> Counts:
    """Refuse impossible numbers: they would otherwise become a wrong VAF.

    Impossible counts (negative, alt > depth) leave the allele without values; a written fraction
    that the counts contradict is replaced by alt/depth (vcf_checks.review_fraction), both flagged."""
    problems = []
    if counts.alt_reads is not None and counts.alt_reads < 0:
        problems.append("negative_alt_count")
    if counts.depth is not None and counts.depth < 0:
        problems.append("negative_depth")
    if counts.alt_reads is not None and counts.depth is not None and counts.alt_reads > counts.depth:
        problems.append(f"alt_count_{counts.alt_reads}_exceeds_depth_{counts.depth}")
    if not problems:
        return review_fraction(counts, counts.vaf_problem)
    flag = ";".join(filter(None, [counts.flag, counts.vaf_problem, *problems]))
    return Counts(None, None, None, counts.dialect, flag)


# --------------------------------------------------------------------------- whole file


def read_calls(path, sample: str | None = None, draw_id: str | None = None) -> tuple[list[AlleleCall], dict]:
    """All concrete ALT alleles of the plasma sample of a VCF, with counts and annotation.

    Raises VcfError (naming the file and record) for unreadable or truncated files;
    a partially read file is never returned.
    """
    calls: list[AlleleCall] = []
    numbers: list[int] = []
    info = {"sample": None, "records": 0, "skipped_symbolic": 0, "flagged": 0, "alt_equals_ref": 0,
            "conflicting_duplicates": 0, "percent_scale": 0}  # fmt: skip
    with open_vcf(path) as vcf:
        chosen = choose_sample(vcf.header, sample, draw_id, path)
        info["sample"] = chosen
        annotator = Annotator(vcf.header)
        index = 0
        try:
            for index, record in enumerate(vcf, start=1):
                for call in _record_calls(record, chosen, annotator, info):
                    calls.append(call)
                    numbers.append(index)
        except (ValueError, OSError) as exc:
            raise VcfError(
                path, f"record {index + 1} cannot be read ({exc}); the file is malformed or truncated"
            ) from None
        info["records"] = index
    calls, info["conflicting_duplicates"] = merge_duplicates(calls, numbers)
    calls, info["percent_scale"] = percent_scale_file(calls)
    info["flagged"] = sum(1 for call in calls if call.flag)
    return calls, info


def _record_calls(record, sample, annotator, info):
    if not record.alts:
        return
    filters = ";".join(record.filter.keys()) or "."
    n_alts = len(record.alts)
    for alt_index, alt in enumerate(record.alts):
        if not is_concrete_allele(alt) or not is_concrete_allele(record.ref):
            info["skipped_symbolic"] += 1
            continue
        if alt_equals_ref(record.ref, alt):
            # Not a variant: no values, no annotation (a gene and protein change would match the knowledge base).
            info["alt_equals_ref"] += 1
            yield AlleleCall(canonical_chrom(record.chrom), record.pos, record.ref.upper(), alt.upper(), "", "",
                             None, None, None, filters, "invalid", "alt_equals_ref")  # fmt: skip
            continue
        counts = extract_site(record, alt_index) if sample is None else extract_sample(record, sample, alt_index)
        counts = sanity_check(counts)
        gene, protein = annotator.annotate(record, record.ref, alt, n_alts)
        pos, ref, alt_norm = normalise_alleles(record.pos, record.ref, alt)
        yield AlleleCall(
            chrom=canonical_chrom(record.chrom),
            pos=pos,
            ref=ref,
            alt=alt_norm,
            gene=gene,
            protein_change=protein,
            alt_reads=counts.alt_reads,
            depth=counts.depth,
            vaf=counts.vaf,
            filter=filters,
            dialect=counts.dialect,
            flag=counts.flag,
        )


def calls_to_rows(calls: list[AlleleCall]) -> list[dict]:
    # (every field is a scalar: a shallow copy gives what dataclasses.asdict's deep copy did, at a fraction of
    # its cost, which was 40 % of ingestion)
    return [dict(call.__dict__) for call in calls]


_SAFE = re.compile(r"[\t\n\r]")


def main(argv=None) -> int:
    """Command line: print the per-allele counts of one VCF as TSV, or a one-line error."""
    parser = argparse.ArgumentParser(description="Read one VCF/BCF into per-allele counts (TSV on stdout).")
    parser.add_argument("vcf")
    parser.add_argument("--sample", help="sample column holding the plasma sample")
    parser.add_argument("--draw", help="draw ID (used to find a column named like the draw)")
    args = parser.parse_args(argv)
    try:
        calls, _ = read_calls(args.vcf, args.sample, args.draw)
    except VcfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {args.vcf}: cannot be read ({exc.strerror or exc})", file=sys.stderr)
        return 1
    print("\t".join(CALL_COLUMNS))
    for row in calls_to_rows(calls):
        print("\t".join("" if row[c] is None else _SAFE.sub(" ", str(row[c])) for c in CALL_COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())

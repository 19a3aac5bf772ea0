"""Issue 12 points 1-2: the pre-flight check of the sheet's files and strict tables.

Each case of the issue has a test here that fails on the code before the check (ce5d3e2): either the bad
input passed silently (exit 0, wrong numbers) or it ended in a traceback. Workflow cases run Snakemake for
real on a copy of the demo; fixture VCFs are the demo's, edited as the issue describes, or written with pysam.
"""

import os
import shutil
import tempfile

import pytest
from test_workflow import copy_project, snakemake
from vcf_fixtures import fmt, make_vcf

from ctdna_monitor.errors import InputError
from ctdna_monitor.inputs import load_samples
from ctdna_monitor.knowledgebase import KB_COLUMNS, read_versioned_tsv

HEADER = "patient\tsample\tdate\tvcf\n"
GRCH37_CHR7 = 159138663  # UCSC hg19 chromInfo (genome_builds.py)


@pytest.fixture
def demo(root, tmp_path):
    return copy_project(root, tmp_path)


def _stopped_before_any_output(result, workdir, *expected):
    message = result.stderr + result.stdout
    assert result.returncode != 0, message[-2000:]
    for text in expected:
        assert text in message, (text, message[-3000:])
    assert "Traceback" not in message
    assert not (workdir / "results").exists()
    return message


def _edit_sheet(workdir, edit):
    sheet = workdir / "resources" / "demo" / "samples.tsv"
    sheet.write_text(edit(sheet.read_text()))


# ------------------------------------------------------------------ strict tables (point 2)


def test_stray_quote_in_a_note_field_does_not_swallow_rows(tmp_path):
    """Case 1: `"re-drawn` opened a quoted field that swallowed every following row (exit 0)."""
    for name in ("a.vcf", "b.vcf", "c.vcf"):
        (tmp_path / name).write_text("")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("patient\tsample\tdate\tvcf\tnote\n"
                     'P1\tP1-a\t2025-01-01\ta.vcf\t"re-drawn\n'
                     "P2\tP2-a\t2025-02-01\tb.vcf\t\n"
                     'P2\tP2-b\t2025-03-01\tc.vcf\t"haemolysed"\n')  # fmt: skip
    frame = load_samples(sheet)
    assert list(frame["sample"]) == ["P1-a", "P2-a", "P2-b"]


def test_a_field_with_a_line_break_is_refused_with_its_row(tmp_path):
    (tmp_path / "a.vcf").write_text("")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text('patient\tsample\tdate\tvcf\tnote\nP1\tP1-a\t2025-01-01\ta.vcf\t"two\nlines"\n')
    with pytest.raises(InputError, match=r"samples.tsv, row 2: line 3 has 1 fields, the header has 5"):
        load_samples(sheet)


def test_duplicate_column_names_are_refused(tmp_path):
    """Case 6: with two `vcf` columns the last one silently won."""
    (tmp_path / "a.vcf").write_text("")
    (tmp_path / "b.vcf").write_text("")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("patient\tsample\tdate\tvcf\tvcf\nP1\tP1-a\t2025-01-01\ta.vcf\tb.vcf\n")
    with pytest.raises(InputError, match=r"samples.tsv, column 'vcf': column 'vcf' appears twice in the header \(columns 4 and 5\)"):
        load_samples(sheet)
    sheet.write_text("patient\tsample\t\tdate\tvcf\nP1\tP1-a\t\t2025-01-01\ta.vcf\n")
    with pytest.raises(InputError, match="header column 3 has no name"):
        load_samples(sheet)


def test_knowledge_base_and_events_are_read_strictly(tmp_path):
    kb = tmp_path / "kb.tsv"
    kb.write_text("# version: 1\n" + "\t".join((*KB_COLUMNS, "note")) + "\n")
    with pytest.raises(InputError, match="column 'note' appears twice"):
        read_versioned_tsv(kb, KB_COLUMNS, "knowledge base")
    kb.write_text("# version: 1\n" + "\t".join(KB_COLUMNS) + "\n" + "\t".join(["x"] * (len(KB_COLUMNS) - 1)) + "\n")
    with pytest.raises(InputError, match=rf"kb.tsv, row 1: line 3 has {len(KB_COLUMNS) - 1} fields"):
        read_versioned_tsv(kb, KB_COLUMNS, "knowledge base")


@pytest.mark.parametrize("encoding, expected", [("latin-1", "not UTF-8 (byte 0xe9 on line 2"), ("utf-16", "is UTF-16 text")])
def test_sheets_in_other_encodings_are_refused_with_how_to_resave(tmp_path, encoding, expected):
    """Case 7: a Latin-1 or UTF-16 sheet (Excel exports) ended in a UnicodeDecodeError traceback."""
    (tmp_path / "a.vcf").write_text("")
    sheet = tmp_path / "samples.tsv"
    sheet.write_bytes((HEADER + "Pé1\tP1-a\t2025-01-01\ta.vcf\n").encode(encoding))
    with pytest.raises(InputError, match="re-save it as UTF-8") as error:
        load_samples(sheet)
    assert expected in str(error.value) and "samples.tsv" in str(error.value)


def test_utf8_with_byte_order_mark_is_read(tmp_path):
    (tmp_path / "a.vcf").write_text("")
    sheet = tmp_path / "samples.tsv"
    sheet.write_bytes(b"\xef\xbb\xbf" + (HEADER + "P1\tP1-a\t2025-01-01\ta.vcf\r\n").encode())
    assert list(load_samples(sheet)["patient"]) == ["P1"]


def test_latin1_sheet_in_the_workflow_is_one_line_not_a_traceback(demo):
    _edit_sheet(demo, lambda text: text)
    sheet = demo / "resources" / "demo" / "samples.tsv"
    sheet.write_bytes(sheet.read_text().replace("LUAD", "LUAD\u00e9", 1).encode("latin-1"))
    result = snakemake(demo)
    _stopped_before_any_output(result, demo, "samples.tsv: sample sheet is not UTF-8", "iconv -f WINDOWS-1252")


# ------------------------------------------------------------------ pre-flight check (point 1), workflow


def test_plain_vcf_cut_mid_line_stops_the_run(demo):
    """Case 2: ABL1 T315I read as 4 of 2,070 reads instead of 43 from a copy interrupted mid-line (exit 0)."""
    vcf = demo / "resources" / "demo" / "vcf" / "DEMO-P04-D1.vcf"
    data = vcf.read_bytes()
    vcf.write_bytes(data[: data.rindex(b":43\n") + 2])  # AO "43" cut to "4"
    result = snakemake(demo)
    _stopped_before_any_output(
        result, demo, "samples.tsv, row 25, column 'vcf' (draw DEMO-P04-D1)", "does not end with a line break"
    )


def test_vcf_with_grch37_contig_lengths_under_grch38_stops_the_run(demo):
    """Case 3: GRCh37 contig lengths in a VCF header were ignored under genome_build GRCh38 (exit 0)."""
    vcf = demo / "resources" / "demo" / "vcf" / "DEMO-P01-D1.vcf"
    vcf.write_text(vcf.read_text().replace("##contig=<ID=chr7>", f"##contig=<ID=chr7,length={GRCH37_CHR7}>"))
    result = snakemake(demo)
    _stopped_before_any_output(result, demo, "row 1, column 'vcf' (draw DEMO-P01-D1)",
                               "contig lengths are those of GRCh37, but genome_build is GRCh38")  # fmt: skip


def test_same_vcf_for_two_draws_and_a_draw_twice_are_all_listed(demo):
    """Case 4: the same VCF given for two draws, and one draw entered twice under two IDs (exit 0); with a
    directory as a `vcf` (case 7, a traceback before) all problems come together, one line each."""
    demo_dir = demo / "resources" / "demo"
    (demo_dir / "vcf" / "folder").mkdir()
    _edit_sheet(demo, lambda text: text.replace("vcf/DEMO-P06-D2.vcf.gz", "vcf/DEMO-P06-D1.vcf")
                .replace("vcf/DEMO-P07-D5.vcf", "vcf/folder")
                + "DEMO-P01\tDEMO-P01-D10\t2025-10-03\tvcf/DEMO-P01-D9.vcf\t\t\tLUAD\n")  # fmt: skip
    result = snakemake(demo)
    message = _stopped_before_any_output(
        result, demo,
        "row 35, column 'vcf' (draw DEMO-P06-D1)", "is the same file as row 36 (draw DEMO-P06-D2",
        "row 9, column 'vcf' (draw DEMO-P01-D9)", "is the same file as row 45 (draw DEMO-P01-D10",
        "row 44, column 'vcf' (draw DEMO-P07-D5)", "this is a directory, not a file",
    )  # fmt: skip
    assert "ctdna-monitor input error: 5 problem(s)" in message and "Fix these and run again" in message
    last = message.rstrip().splitlines()[-1]
    assert last.startswith("  ") and "column 'vcf'" in last  # the last line is a problem, naming its file


def test_quarantine_runs_without_the_bad_draws_and_says_so(demo):
    """With quarantine_bad_draws the run goes on without the bad draws: listed at the top of the report
    and in the run's last lines, exit status 3."""
    vcf = demo / "resources" / "demo" / "vcf" / "DEMO-P04-D1.vcf"
    vcf.write_bytes(vcf.read_bytes()[:-5])
    result = snakemake(demo, "--config", "quarantine_bad_draws=true")
    assert result.returncode == 3, result.stderr[-3000:]
    last = result.stderr.rstrip().splitlines()[-2:]
    assert "row 25, column 'vcf' (draw DEMO-P04-D1)" in last[0] and "does not end with a line break" in last[0]
    assert last[1].startswith("ctdna-monitor: finished WITHOUT the 1 quarantined draw(s) above (exit status 3)")
    report = (demo / "results" / "report.html").read_text()
    assert report.index('id="quarantine"') < report.index('id="summary"')
    assert "DEMO-P04-D1" in report[report.index('id="quarantine"'):report.index('id="summary"')]
    timeline = (demo / "results" / "timeline.tsv").read_text()
    assert "DEMO-P04-D1\t" not in timeline and "DEMO-P04-D2\t" in timeline


# ------------------------------------------------------------------ pre-flight check, unit


def _sheet(tmp_path, rows, header="patient\tsample\tdate\tvcf\tvcf_sample\n"):
    path = tmp_path / "samples.tsv"
    path.write_text(header + "".join("\t".join(row) + "\n" for row in rows))
    return load_samples(path, check_files=False)


def _vcf(path, sample="S", contigs=("chr7",)):
    return make_vcf(path, [fmt("AD", "R", "Integer")], [sample], [
        {"chrom": "chr7", "pos": 100, "ref": "C", "alts": ["T"], "fmt": {sample: {"AD": (90, 10)}}}], contigs=contigs)


def test_one_multi_sample_vcf_for_draws_with_different_vcf_sample_is_allowed(tmp_path):
    from ctdna_monitor.preflight import check_draws

    _vcf(tmp_path / "two.vcf.gz")
    ok = _sheet(tmp_path, [("P1", "P1-a", "2025-01-01", "two.vcf.gz", "A"), ("P1", "P1-b", "2025-02-01", "two.vcf.gz", "B")])
    assert check_draws(ok, "GRCh38") == []
    same = _sheet(tmp_path, [("P1", "P1-a", "2025-01-01", "two.vcf.gz", "A"), ("P1", "P1-b", "2025-02-01", "two.vcf.gz", "")])
    assert [p.row for p in check_draws(same, "GRCh38")] == [1, 2]


def test_a_copy_of_another_draws_file_is_found_by_checksum_and_only_equal_sizes_are_hashed(tmp_path):
    from ctdna_monitor.preflight import FactCache, check_draws

    _vcf(tmp_path / "a.vcf.gz")
    shutil.copy(tmp_path / "a.vcf.gz", tmp_path / "copy.vcf.gz")
    (tmp_path / "c.vcf").write_text(_plain_vcf())
    samples = _sheet(tmp_path, [("P1", "P1-a", "2025-01-01", "a.vcf.gz", ""), ("P1", "P1-b", "2025-02-01", "copy.vcf.gz", ""),
                                ("P1", "P1-c", "2025-03-01", "c.vcf", "")])  # fmt: skip
    cache = FactCache(tmp_path / "cache.json")
    problems = check_draws(samples, "GRCh38", cache=cache)
    assert [(p.row, p.sample) for p in problems] == [(1, "P1-a"), (2, "P1-b")]
    assert "has the same content (SHA-256) as row 2 (draw P1-b" in problems[0].message
    assert cache.inspected == 3 and cache.hashed == 2  # c.vcf has a size of its own: never hashed


def _plain_vcf(pos=100):
    return ("##fileformat=VCFv4.2\n##contig=<ID=chr7>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            f"chr7\t{pos}\t.\tC\tT\t.\tPASS\t.\n")  # fmt: skip


def test_cache_inspects_only_new_or_changed_files(tmp_path):
    from ctdna_monitor.preflight import FactCache, check_draws

    for name, pos in (("a.vcf", 100), ("b.vcf", 200)):
        (tmp_path / name).write_text(_plain_vcf(pos))
    samples = _sheet(tmp_path, [("P1", "P1-a", "2025-01-01", "a.vcf", ""), ("P1", "P1-b", "2025-02-01", "b.vcf", "")])
    cache_path = tmp_path / "cache.json"
    first = FactCache(cache_path)
    check_draws(samples, "GRCh38", cache=first)
    assert (first.inspected, first.hashed) == (2, 2)  # equal sizes: hashed to tell them apart
    again = FactCache(cache_path)
    assert check_draws(samples, "GRCh38", cache=again) == [] and (again.inspected, again.hashed) == (0, 0)
    (tmp_path / "b.vcf").write_text(_plain_vcf(200)[:-1])  # changed (and now cut off)
    changed = FactCache(cache_path)
    problems = check_draws(samples, "GRCh38", cache=changed)
    assert changed.inspected == 1 and [p.sample for p in problems] == ["P1-b"]


@pytest.mark.parametrize(
    "content, name, expected",
    [
        (b"", "e.vcf", "the file is empty"),
        (b"P1\tP1-a\n", "t.vcf", "the file is text, not a VCF, VCF.gz or BCF"),
        (_plain_vcf().encode()[:40], "h.vcf", "no #CHROM line"),
        (_plain_vcf().encode().replace(b"\t.\n", b"\n"), "f.vcf", "the last record has 7 of the 8 columns"),
    ],
)
def test_files_that_are_not_complete_vcfs(tmp_path, content, name, expected):
    from ctdna_monitor.preflight import check_draws

    (tmp_path / name).write_bytes(content)
    problems = check_draws(_sheet(tmp_path, [("P1", "P1-a", "2025-01-01", name, "")]), "GRCh38")
    assert len(problems) == 1 and expected in problems[0].message, problems


def test_compressed_files_truncated_or_misnamed(tmp_path):
    import gzip

    from ctdna_monitor.preflight import check_draws

    _vcf(tmp_path / "a.vcf.gz", contigs=("chr7",))
    data = (tmp_path / "a.vcf.gz").read_bytes()
    (tmp_path / "cut.vcf.gz").write_bytes(data[:-10])
    (tmp_path / "gz.vcf").write_bytes(data)
    (tmp_path / "plain.vcf.gz").write_bytes(gzip.compress(_plain_vcf().encode())[:-12])
    rows = [("P1", f"P1-{i}", f"2025-0{i + 1}-01", name, "") for i, name in enumerate(("cut.vcf.gz", "gz.vcf", "plain.vcf.gz"))]
    messages = [p.message for p in check_draws(_sheet(tmp_path, rows), "GRCh38")]
    assert "truncated (no BGZF end-of-file block)" in messages[0]
    assert "is a bgzipped VCF but its name says a plain-text VCF: rename it to end in .vcf.gz" in messages[1]
    assert "gzip data is corrupt or truncated" in messages[2]


def test_bcf_header_lengths_are_checked_against_the_build(tmp_path):
    import pysam

    from ctdna_monitor.preflight import check_draws

    header = pysam.VariantHeader()
    header.contigs.add("chr7", length=GRCH37_CHR7)
    header.add_sample("S")
    with pysam.VariantFile(str(tmp_path / "a.bcf"), "wb", header=header):
        pass
    samples = _sheet(tmp_path, [("P1", "P1-a", "2025-01-01", "a.bcf", "")])
    assert check_draws(samples, "GRCh37") == []
    assert "those of GRCh37, but genome_build is GRCh38" in check_draws(samples, "GRCh38")[0].message


def test_unreadable_vcf_is_named():
    """Case 7: a file without read permission (as root, checked in a child process that became `nobody`)."""
    from ctdna_monitor.preflight import check_draws

    folder = tempfile.mkdtemp(prefix="ctdna-unreadable-")
    try:
        os.chmod(folder, 0o755)
        vcf = os.path.join(folder, "a.vcf")
        with open(vcf, "w") as handle:
            handle.write(_plain_vcf())
        os.chmod(vcf, 0)
        with open(os.path.join(folder, "samples.tsv"), "w") as handle:
            handle.write(HEADER + "P1\tP1-a\t2025-01-01\ta.vcf\n")
        samples = load_samples(os.path.join(folder, "samples.tsv"), check_files=False)
        assert _as_unprivileged_user(lambda: "\n".join(p.message for p in check_draws(samples, "GRCh38"))) == (
            "the file cannot be read (permission denied): make it readable (chmod +r) or copy it"
        )
    finally:
        shutil.rmtree(folder)


def _as_unprivileged_user(function) -> str:
    if os.geteuid() != 0:
        return function()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child drops root for good, runs the function and reports through the pipe
        try:
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, function().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        output = handle.read()
    os.waitpid(child, 0)
    return output


def _alignments(path, reference=None):
    import pysam

    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 1000}]}
    mode = "wc" if str(path).endswith(".cram") else "wb"
    with pysam.AlignmentFile(str(path), mode, header=header, reference_filename=reference) as out:
        for i in range(20):
            read = pysam.AlignedSegment(out.header)
            read.query_name, read.reference_id, read.reference_start = f"r{i}", 0, i * 10
            read.query_sequence, read.cigarstring, read.mapping_quality = ("ACGT" * 250)[i * 10 : i * 10 + 50], "50M", 60
            read.query_qualities = pysam.qualitystring_to_array("I" * 50)
            out.write(read)
    pysam.index(str(path))
    return path


def test_bam_and_cram_truncated_or_without_index(tmp_path):
    from ctdna_monitor.preflight import check_draws

    (tmp_path / "ref.fa").write_text(">chr1\n" + "ACGT" * 250 + "\n")
    for name in ("a.bam", "a.cram"):
        data = _alignments(tmp_path / name, str(tmp_path / "ref.fa")).read_bytes()
        (tmp_path / f"cut{name}").write_bytes(data[:-20])
        index = "bai" if name.endswith("bam") else "crai"
        shutil.copy(f"{tmp_path / name}.{index}", f"{tmp_path / 'cut'}{name}.{index}")
    (tmp_path / "noindex.bam").write_bytes((tmp_path / "a.bam").read_bytes())
    (tmp_path / "v.vcf").write_text(_plain_vcf())
    header = "patient\tsample\tdate\tvcf\tvcf_sample\tbam\n"
    rows = [("P1", f"P1-{i}", f"2025-0{i + 1}-01", "v.vcf", f"S{i}", bam)
            for i, bam in enumerate(("a.bam", "a.cram", "cuta.bam", "cuta.cram", "noindex.bam"))]  # fmt: skip
    problems = check_draws(_sheet(tmp_path, rows, header), "GRCh38", reference=str(tmp_path / "ref.fa"))
    found = {}
    for p in problems:
        found[(p.sample, p.column)] = found.get((p.sample, p.column), "") + p.message + "\n"
    assert "no BGZF end-of-file block" in found[("P1-2", "bam")]
    assert "no CRAM end-of-file container" in found[("P1-3", "bam")]
    assert "no index" in found[("P1-4", "bam")]
    assert "same content (SHA-256) as row 5" in found[("P1-0", "bam")]  # noindex.bam is a copy of a.bam
    assert ("P1-1", "bam") not in found
    assert "needs its reference FASTA" in check_draws(_sheet(tmp_path, rows[1:2], header), "GRCh38")[0].message


def test_cache_keeps_only_this_runs_files_and_a_broken_cache_is_ignored(tmp_path):
    from ctdna_monitor.preflight import FactCache, check_draws

    for name, pos in (("a.vcf", 100), ("b.vcf", 2000)):
        (tmp_path / name).write_text(_plain_vcf(pos))
    cache_path = tmp_path / "cache.json"
    both = _sheet(tmp_path, [("P1", "P1-a", "2025-01-01", "a.vcf", ""), ("P1", "P1-b", "2025-02-01", "b.vcf", "")])
    check_draws(both, "GRCh38", cache=FactCache(cache_path))
    check_draws(_sheet(tmp_path, [("P1", "P1-a", "2025-01-01", "a.vcf", "")]), "GRCh38", cache=FactCache(cache_path))
    assert list(FactCache(cache_path).entries) == [str(tmp_path / "a.vcf")]
    cache_path.write_text("[1, 2")  # cut off: read as empty
    again = FactCache(cache_path)
    assert check_draws(both, "GRCh38", cache=again) == [] and again.inspected == 2


def test_copies_of_a_vcf_without_records_are_not_duplicates(tmp_path):
    """A sparse caller's draw with nothing to report has a header only: equal copies carry no counts."""
    from ctdna_monitor.preflight import check_draws

    header_only = _plain_vcf().rsplit("chr7\t100", 1)[0]
    for name in ("a.vcf", "b.vcf"):
        (tmp_path / name).write_text(header_only)
    rows = [("P1", "P1-a", "2025-01-01", "a.vcf", ""), ("P1", "P1-b", "2025-02-01", "b.vcf", "")]
    assert check_draws(_sheet(tmp_path, rows), "GRCh38") == []
    rows[1] = ("P1", "P1-b", "2025-02-01", "a.vcf", "")  # the same file twice is still refused
    assert [p.row for p in check_draws(_sheet(tmp_path, rows), "GRCh38")] == [1, 2]


def test_missing_files_and_pipes_are_named(tmp_path):
    from ctdna_monitor.preflight import check_draws

    os.mkfifo(tmp_path / "pipe.vcf")
    rows = [("P1", "P1-a", "2025-01-01", "pipe.vcf", ""), ("P1", "P1-b", "2025-02-01", "gone.vcf", "")]
    messages = [p.message for p in check_draws(_sheet(tmp_path, rows), "GRCh38")]
    assert messages[0].startswith("this is not a regular file") and messages[1].startswith("the file does not exist")

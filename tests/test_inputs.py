"""Sample sheet and events validation: every error names the file, row and column."""

import pytest

from ctdna_monitor.errors import InputError
from ctdna_monitor.inputs import load_events, load_samples
from ctdna_monitor.knowledgebase import DrugTable

HEADER = "patient\tsample\tdate\tvcf\n"


@pytest.fixture
def sheet(tmp_path):
    (tmp_path / "a.vcf").write_text("")
    (tmp_path / "b.vcf").write_text("")

    def write(body, header=HEADER):
        path = tmp_path / "samples.tsv"
        path.write_text(header + body)
        return path

    return write


def test_valid_sheet_resolves_relative_paths(sheet, tmp_path):
    frame = load_samples(sheet("P1\tP1-a\t2025-01-01\ta.vcf\nP1\tP1-b\t2025-02-01\tb.vcf\n"))
    assert list(frame["sample"]) == ["P1-a", "P1-b"]
    assert frame.loc["P1-a", "vcf"] == str(tmp_path / "a.vcf")


@pytest.mark.parametrize(
    "body, header, pattern",
    [
        ("P1\tP1-a\t2025-01-01\n", "patient\tsample\tdate\n", r"missing required column\(s\): vcf"),
        ("P1\tP1-a\t2025-01-01\ta.vcf\nP1\tP1-a\t2025-02-01\tb.vcf\n", HEADER, r"row 2, column 'sample'.*also in row 1"),
        ("P1\tP1-a\t2025-13-01\ta.vcf\n", HEADER, r"row 1, column 'date'.*not a valid date"),
        ("P1\tP1-a\t01/02/2025\ta.vcf\n", HEADER, r"row 1, column 'date'"),
        ("P1\tP1-a\t2025-01-01\tmissing.vcf\n", HEADER, r"row 1, column 'vcf'.*does not exist"),
        ("P1\t../etc\t2025-01-01\ta.vcf\n", HEADER, r"row 1, column 'sample'.*not a safe ID"),
        ("P 1\tP1-a\t2025-01-01\ta.vcf\n", HEADER, r"row 1, column 'patient'"),
        ("P1\t\t2025-01-01\ta.vcf\n", HEADER, r"row 1, column 'sample'.*empty"),
    ],
)
def test_bad_sheets_name_row_and_column(sheet, body, header, pattern):
    with pytest.raises(InputError, match=pattern) as error:
        load_samples(sheet(body, header))
    assert "samples.tsv" in str(error.value)


def test_events_resolve_drug_synonyms_and_reject_unknowns(tmp_path, root):
    drugs = DrugTable(root / "resources" / "drugs.tsv")
    path = tmp_path / "events.tsv"
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\ttherapy_start\tTagrisso\nP1\t2025-03-01\tscan\tpd\n")
    events = load_events(path, ["P1"], drugs)
    assert list(events.value) == ["osimertinib", "PD"]
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\ttherapy_start\tmagicinib\n")
    with pytest.raises(InputError, match=r"row 1, column 'value'.*unknown drug 'magicinib'"):
        load_events(path, ["P1"], drugs)
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\tscan\tbetter\n")
    with pytest.raises(InputError, match="not a RECIST response"):
        load_events(path, ["P1"], drugs)
    path.write_text("patient\tdate\tevent\tvalue\nP9\t2025-01-01\tscan\tPD\n")
    with pytest.raises(InputError, match="not in the sample sheet"):
        load_events(path, ["P1"], drugs)

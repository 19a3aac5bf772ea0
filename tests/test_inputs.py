"""Sample sheet and events validation: every error names the file, row and column."""

import pytest

from ctdna_monitor.cancer_types import CancerTypes
from ctdna_monitor.errors import InputError
from ctdna_monitor.inputs import (
    cancer_types_of,
    load_events,
    load_samples,
    unknown_therapies,
)
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


def test_events_resolve_synonyms_keep_unknown_names_and_stop_near_misses(tmp_path, root, caplog):
    drugs = DrugTable(root / "resources" / "drugs.tsv")
    path = tmp_path / "events.tsv"
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\ttherapy_start\tTagrisso\nP1\t2025-03-01\tscan\tpd\n")
    events = load_events(path, ["P1"], drugs)
    assert list(events.value) == ["osimertinib", "PD"]
    # a name the drug table does not know is kept as written (first spelling), not an error
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\ttherapy_start\tMagicinib\n"
                    "P1\t2025-02-01\ttherapy_end\tmagicinib\n")
    events = load_events(path, ["P1"], drugs)
    assert list(events.value) == ["Magicinib", "Magicinib"]
    assert unknown_therapies(events, drugs) == {"Magicinib": ["P1"]}
    # a near miss of a known name is a typo: one line naming file, row, column and the drug meant
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\ttherapy_start\tosimertnib\n")
    with pytest.raises(InputError, match=r"events.tsv, row 1, column 'value'.*'osimertnib'.*did you mean 'osimertinib'"):
        load_events(path, ["P1"], drugs)
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\tscan\tbetter\n")
    with pytest.raises(InputError, match="not a RECIST response"):
        load_events(path, ["P1"], drugs)
    # events exported ahead of the draws: a patient without a draw yet is noted in the log, not an error
    path.write_text("patient\tdate\tevent\tvalue\nP9\t2025-01-01\tscan\tPD\nP1\t2025-01-01\tscan\tPR\n")
    with caplog.at_level("WARNING", logger="ctdna_monitor"):
        events = load_events(path, ["P1"], drugs)
    assert list(events.patient) == ["P1"]
    assert "events of 1 patient(s) without a draw in the sample sheet are not used until a draw of theirs arrives: P9 (row 1)" in caplog.text


def test_combinations_split_on_plus_and_regimens_stay_whole(tmp_path, root):
    drugs = DrugTable(root / "resources" / "drugs.tsv")
    path = tmp_path / "events.tsv"
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\ttherapy_start\tFOLFOX + Erbitux\n"
                    "P1\t2025-01-01\ttherapy_start\tstudy drug X\n")
    events = load_events(path, ["P1"], drugs)
    assert list(events.value) == ["folfox", "cetuximab", "study drug X"]
    path.write_text("patient\tdate\tevent\tvalue\nP1\t2025-01-01\ttherapy_start\tFOLFOX + \n")
    with pytest.raises(InputError, match="row 1, column 'value'.*empty drug name"):
        load_events(path, ["P1"], drugs)


def test_cancer_type_column_is_checked_and_per_patient(sheet, root):
    cancer_types = CancerTypes(root / "resources" / "oncotree.tsv")
    header = "patient\tsample\tdate\tvcf\tcancer_type\n"
    frame = load_samples(sheet("P1\tP1-a\t2025-01-01\ta.vcf\tluad\nP1\tP1-b\t2025-02-01\tb.vcf\t\n", header), cancer_types)
    assert list(frame["cancer_type"]) == ["LUAD", "LUAD"]  # canonical code, and given once is enough
    assert cancer_types_of(frame) == {"P1": "LUAD"}
    with pytest.raises(InputError, match=r"row 1, column 'cancer_type'.*'LUADX' is not an OncoTree code.*closest: LUAD"):
        load_samples(sheet("P1\tP1-a\t2025-01-01\ta.vcf\tLUADX\n", header), cancer_types)
    with pytest.raises(InputError, match=r"row 2, column 'cancer_type'.*differs from 'LUAD'"):
        load_samples(sheet("P1\tP1-a\t2025-01-01\ta.vcf\tLUAD\nP1\tP1-b\t2025-02-01\tb.vcf\tCOAD\n", header), cancer_types)
    assert list(load_samples(sheet("P1\tP1-a\t2025-01-01\ta.vcf\n"))["cancer_type"]) == [""]

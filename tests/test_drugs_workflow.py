"""Snakemake for real: a cohort naming drugs the drug table does not know runs to the end, lists them at the
top of the report and raises no resistance alert under them; a misspelt drug stops the run before anything
is written, naming the drug meant; a bad cancer type stops it naming the closest code."""

import pandas as pd
import pytest
from test_workflow import copy_project, snakemake

UNKNOWN = "Zalutumumab-X"  # an antibody name the drug table does not know


@pytest.fixture(scope="module")
def unknown_drug_run(root, tmp_path_factory):
    workdir = copy_project(root, tmp_path_factory.mktemp("unknown-drug"))
    events = workdir / "resources" / "demo" / "events.tsv"
    # DEMO-P02's KRAS G12D emerges under cetuximab in the demo; here the antibody is one the table lacks
    events.write_text(events.read_text().replace("DEMO-P02\t2025-02-03\ttherapy_start\tcetuximab",
                                                 f"DEMO-P02\t2025-02-03\ttherapy_start\t{UNKNOWN}"))  # fmt: skip
    assert UNKNOWN in events.read_text()
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_unknown_drug_completes_without_resistance_alert_under_it(unknown_drug_run):
    alerts = pd.read_csv(unknown_drug_run / "results" / "alerts.tsv", sep="\t", keep_default_na=False)
    p02 = alerts[alerts.patient == "DEMO-P02"]
    assert not p02.type.isin(["pre_existing", "emergence", "rising"]).any()  # no resistance alert
    assert set(p02.therapy) <= {UNKNOWN}  # the therapy is kept as written (molecular progression may remain)
    timeline = pd.read_csv(unknown_drug_run / "results" / "timeline.tsv", sep="\t", keep_default_na=False)
    assert "KRAS_G12D" in set(timeline[timeline.patient == "DEMO-P02"].kb_id)  # still visible in the timeline
    # the other patients are unaffected
    assert ("DEMO-P01", "emergence") in set(zip(alerts.patient, alerts.type))


def test_unknown_drug_is_listed_at_the_top_of_the_report_and_logged_once(unknown_drug_run):
    report = (unknown_drug_run / "results" / "report.html").read_text()
    section = report.index('id="unknown-therapies"')
    assert section < report.index('id="summary"')  # before the cohort summary: seen first
    box = report[section: report.index("</section>", section)]
    assert UNKNOWN in box and "DEMO-P02" in box and "no resistance alert is raised" in box
    log = (unknown_drug_run / "logs" / "alerts" / "call_alerts.log").read_text()
    assert log.count(UNKNOWN) == 1 and "DEMO-P02" in log


def test_near_miss_drug_name_stops_before_any_output(root, tmp_path):
    workdir = copy_project(root, tmp_path)
    events = workdir / "resources" / "demo" / "events.tsv"
    events.write_text(events.read_text().replace("\tTagrisso\n", "\tosimertnib\n"))
    result = snakemake(workdir)
    message = result.stderr + result.stdout
    assert result.returncode != 0
    assert "events.tsv, row 6, column 'value'" in message and "did you mean 'osimertinib'" in message
    assert "Traceback" not in message
    assert not (workdir / "results").exists()


def test_unknown_cancer_type_stops_naming_the_closest_code(root, tmp_path):
    workdir = copy_project(root, tmp_path)
    sheet = workdir / "resources" / "demo" / "samples.tsv"
    sheet.write_text(sheet.read_text().replace("\tLUAD\n", "\tLUADD\n", 1))
    result = snakemake(workdir)
    message = result.stderr + result.stdout
    assert result.returncode != 0
    assert "samples.tsv, row 1, column 'cancer_type'" in message and "closest: LUAD" in message
    assert not (workdir / "results").exists()

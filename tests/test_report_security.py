"""Hostile strings fed through a real workflow run reach the report only as text.

Patient and sample IDs are restricted to safe characters by the sample sheet check, so the hostile values
go where free text is allowed: a VCF file name in the sample sheet, the VCF header's sample column
(`vcf_sample`), the gene and protein change of a VEP CSQ annotation, and a drug name (from a custom drug
table and knowledge base, since events must name known drugs). Render-level escaping of hostile patient
IDs is covered in test_report.py.
"""

from __future__ import annotations

import html
import json
import re
import zipfile

import chromium
import pytest
from test_workflow import copy_project, snakemake
from vcf_fixtures import fmt, info, make_vcf

DRUG = "<img src=x onerror=alert('drug')>"
FILE = "<img src=x onerror=alert('file')>"
SAMPLE = "<script>alert('sample')</script>"
GENE = "<svg/onload=alert('gene')>"
PROTEIN = "<img src=x onerror=alert('protein')>"
HOSTILE = [DRUG, FILE, SAMPLE, GENE, PROTEIN]
CSQ = info("CSQ", ".", "String", "Consequence annotations from Ensembl VEP. Format: Allele|Consequence|SYMBOL|HGVSp")
HEADER = [fmt("GT", 1, "String"), fmt("AD", "R", "Integer"), fmt("AF", "A", "Float"), fmt("DP", 1, "Integer"), CSQ]


def _draw(path, t790m_alt: int):
    protein = "p." + PROTEIN.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20").replace("=", "%3D")
    records = [
        {"chrom": "chr7", "pos": 55181378, "ref": "C", "alts": ("T",), "info": {"CSQ": ("T|missense_variant|EGFR|p.Thr790Met",)},
         "fmt": {SAMPLE: {"GT": (0, 1), "AD": (2000 - t790m_alt, t790m_alt), "AF": (t790m_alt / 2000,), "DP": 2000}}},
        {"chrom": "chr1", "pos": 100, "ref": "G", "alts": ("A",), "info": {"CSQ": (f"A|missense_variant|{GENE}|{protein}",)},
         "fmt": {SAMPLE: {"GT": (0, 1), "AD": (1800, 200), "AF": (0.1,), "DP": 2000}}},
    ]  # fmt: skip
    return make_vcf(path, HEADER, [SAMPLE], records)


@pytest.fixture(scope="module")
def hostile_run(root, tmp_path_factory):
    workdir = copy_project(root, tmp_path_factory.mktemp("hostile"))
    cohort = workdir / "hostile"
    cohort.mkdir()
    _draw(cohort / f"{FILE}.vcf", 0)
    _draw(cohort / "d2.vcf", 60)
    (cohort / "samples.tsv").write_text(
        "patient\tsample\tdate\tvcf\tvcf_sample\n"
        f"P1\tP1-D1\t2025-01-01\t{FILE}.vcf\t{SAMPLE}\nP1\tP1-D2\t2025-03-01\td2.vcf\t{SAMPLE}\n"
    )
    (cohort / "events.tsv").write_text(
        f"patient\tdate\tevent\tvalue\nP1\t2025-01-05\ttherapy_start\t{DRUG}\nP1\t2025-04-01\tscan\tPD\n"
    )
    drugs = (workdir / "resources" / "drugs.tsv").read_text()
    (cohort / "drugs.tsv").write_text(drugs + f"{DRUG}\t\tegfr_tki_1st_2nd_gen\t\t\ttest\t\n")  # all 7 columns
    kb_lines = (workdir / "resources" / "resistance_mutations.tsv").read_text().splitlines(keepends=True)
    header = next(line for line in kb_lines if line.startswith("id\t")).rstrip("\n").split("\t")
    column = header.index("resistance_to")
    for index, line in enumerate(kb_lines):
        if line.startswith("EGFR_T790M\t"):  # the hostile drug joins the row the draws carry
            fields = line.rstrip("\n").split("\t")
            fields[column] += f",{DRUG}"
            kb_lines[index] = "\t".join(fields) + "\n"
    (cohort / "kb.tsv").write_text("".join(kb_lines))
    config = [f"{key}=hostile/{name}" for key, name in
              (("samples", "samples.tsv"), ("events", "events.tsv"), ("drugs", "drugs.tsv"), ("knowledgebase", "kb.tsv"))]
    result = snakemake(workdir, "--config", *config)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, config


def _data(doc: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="ctdna-data">(.*?)</script>', doc, re.S).group(1))


def test_hostile_inputs_are_escaped_in_the_file(hostile_run):
    workdir, _ = hostile_run
    doc = (workdir / "results" / "report.html").read_text(encoding="utf-8")
    for raw in HOSTILE:
        assert raw not in doc, raw
    body = re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", doc, flags=re.S)
    assert "<img" not in body and "<svg" not in body
    assert len(re.findall(r"<script\b", doc)) == 3
    # the drug is written into the markup (alert table, drug filter), escaped
    assert f"<td>{html.escape(DRUG)}</td>" in body
    assert f'<option value="{html.escape(DRUG, quote=True)}">' in body
    # the embedded data carries the exact strings, for the page to write as text
    data = _data(doc)
    patient = data["patients"][0]
    assert f"{GENE} {PROTEIN}" in [v["label"] for v in patient["variants"]]
    assert patient["therapies"][0][0] == DRUG and patient["alerts"][0]["therapy"] == DRUG
    assert any(row[1].endswith(f"{FILE}.vcf") for row in data["checksums"])


@pytest.mark.skipif(not chromium.available(), reason="chromium, chromedriver or selenium missing (.ci/run installs them)")
def test_hostile_inputs_render_as_text_in_chromium(hostile_run, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.action_chains import ActionChains

    workdir, _ = hostile_run
    report = workdir / "results" / "report.html"
    with chromium.chromium() as driver:
        driver.get(report.as_uri())
        chromium.wait_for(driver, "window.ctdnaReady")
        chromium.wait_for(driver, "document.querySelector('section.patient[data-rendered]')")
        driver.execute_script("document.getElementById('checksums').open = true")
        chromium.wait_for(driver, "document.querySelector('#checksum-box table')")
        assert driver.execute_script("return document.querySelector('section.patient .main-svg .hoverlayer') !== null")
        # swimmer tooltips: point along the lane; the therapy bar names the hostile drug, as text
        lanes = driver.find_element("css selector", "#swimmer-plot svg.swim-lanes")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", lanes)
        # a third into the therapy bar: day ~27, away from the draws (days -4 and 55) and the scan
        x = driver.execute_script(
            "var r = arguments[0].getBoundingClientRect(), b = document.querySelector('#swimmer-plot .swim-therapy')"
            ".getBoundingClientRect(); return b.left + b.width * 0.3 - r.left - r.width / 2", lanes)
        ActionChains(driver).move_to_element_with_offset(lanes, int(x), 0).perform()
        tip = driver.execute_script("var t = document.getElementById('swimmer-tip'); return t.hidden ? '' : t.textContent")
        legend = driver.execute_script("return document.getElementById('swimmer-legend').textContent")
        text = driver.execute_script("return document.body.innerText")
        injected = driver.execute_script("return document.querySelectorAll('img, [onerror], [onload]').length")
        driver.save_screenshot(str(tmp_path / "hostile.png"))
        with pytest.raises(NoAlertPresentException):
            _ = driver.switch_to.alert.text  # no injected script ran
        errors = chromium.console_errors(driver)
    for raw in (DRUG, FILE, GENE, PROTEIN):
        assert raw in text, raw  # shown literally, as text
    assert DRUG in legend and f"{DRUG}: 2025-01-05" in tip, tip
    assert injected == 0
    assert not errors, errors


def test_snakemake_report_carries_the_html(hostile_run):
    workdir, config = hostile_run
    result = snakemake(workdir, "--config", *config, "--report", "report.zip")
    assert result.returncode == 0, result.stderr[-2000:]
    with zipfile.ZipFile(workdir / "report.zip") as archive:
        carried = [name for name in archive.namelist() if "/data/raw/" in name and name.endswith("/report.html")]
        assert len(carried) == 1, archive.namelist()
        assert archive.read(carried[0]) == (workdir / "results" / "report.html").read_bytes()
        index = archive.read("report/report.html").decode("utf-8", "replace")
        assert "ctDNA monitoring report" in index  # the label given with report() in report.smk

"""Tests for the offline HTML report (ctdna_monitor.report)."""

from __future__ import annotations

import hashlib
import html
import json
import re

import chromium
import numpy as np
import pandas as pd
import plotly.offline
import pytest

from ctdna_monitor.report import NOTICE, evidence_html, input_checksums, patient_anchor, render_report

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"
HOSTILE = [IMG, SCRIPT]
P1 = "PT-001"
P2 = "PT" + IMG  # hostile patient id, no events
P3 = "PT-003"  # no alerts
NAN = np.nan


def _row(patient, sample, date, gene, protein, pos, vaf, status, kb_id="", lod=0.001):
    alt_reads = 0 if status != "detected" else int(round((vaf or 0) * 5000))
    return {
        "patient": patient, "sample": sample, "date": date, "chrom": "chr7", "pos": pos,
        "ref": "C", "alt": "T", "gene": gene, "protein_change": protein,
        "alt_reads": alt_reads, "depth": 5000 if status != "not_assessable" else 40,
        "vaf": vaf, "status": status, "p_value": 1e-9 if status == "detected" else 0.6,
        "lod": lod, "kb_id": kb_id, "caller": "extra-column-ignored",
    }


@pytest.fixture
def timeline() -> pd.DataFrame:
    rows = [
        # P1: a KB-listed resistance variant emerging, and an unannotated passenger
        _row(P1, "S1", "2023-01-10", "EGFR", "p.T790M", 55181378, NAN, "not_detected", "CIViC:EID123"),
        _row(P1, "S2", "2023-03-10", "EGFR", "p.T790M", 55181378, 0.004, "detected", "CIViC:EID123"),
        _row(P1, "S3", "2023-05-10", "EGFR", "p.T790M", 55181378, 0.031, "detected", "CIViC:EID123"),
        _row(P1, "S1", "2023-01-10", "", "", 1000, 0.02, "detected"),
        _row(P1, "S2", "2023-03-10", "", "", 1000, NAN, "not_assessable", lod=NAN),
        _row(P1, "S3", "2023-05-10", "", "", 1000, 0.018, "detected"),
        # P2: hostile ids/gene names, no events
        _row(P2, "SA" + SCRIPT, "2023-02-01", "KRAS" + IMG, "p.G12C", 25245350, 0.01, "detected"),
        _row(P2, "SB", "2023-04-01", "KRAS" + IMG, "p.G12C", 25245350, 0.02, "detected"),
        # P3: no alerts
        _row(P3, "T1", "2023-02-15", "TP53", "p.R273H", 7673802, 0.05, "detected"),
        _row(P3, "T2", "2023-06-15", "TP53", "p.R273H", 7673802, NAN, "not_detected"),
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def alerts() -> pd.DataFrame:
    return pd.DataFrame([
        {"patient": P1, "type": "emergence", "gene": "EGFR", "protein_change": "p.T790M", "chrom": "chr7",
         "pos": 55181378, "ref": "C", "alt": "T", "sample": "S2", "date": "2023-03-10", "vaf": 0.004,
         "alt_reads": 20, "depth": 5000, "p_value": 1e-9, "resistance_to": "gefitinib",
         "therapy": "gefitinib", "progression_date": "2023-06-01", "lead_time_days": 83,
         "kb_id": "CIViC:EID123", "evidence": "PMID:22722843;CIViC:EID123"},
        {"patient": P2, "type": "rising", "gene": "KRAS" + IMG, "protein_change": "p.G12C", "chrom": "chr12",
         "pos": 25245350, "ref": "C", "alt": "A", "sample": "SB", "date": "2023-04-01", "vaf": 0.02,
         "alt_reads": 100, "depth": 5000, "p_value": 2e-5, "resistance_to": SCRIPT,
         "therapy": "", "progression_date": "", "lead_time_days": NAN,
         "kb_id": "", "evidence": "PMID:1" + IMG},
    ])


@pytest.fixture
def events() -> pd.DataFrame:
    return pd.DataFrame([
        {"patient": P1, "date": "2023-01-05", "event": "therapy_start", "value": "gefitinib"},
        {"patient": P1, "date": "2023-06-01", "event": "scan", "value": "PD"},
        {"patient": P1, "date": "2023-06-05", "event": "therapy_end", "value": "gefitinib"},
        {"patient": P1, "date": "2023-06-10", "event": "therapy_start", "value": "osimertinib" + SCRIPT},
        {"patient": P3, "date": "2023-03-01", "event": "scan", "value": "SD"},
    ])


@pytest.fixture
def meta() -> dict:
    return {"workflow_version": "0.1.0", "run_date": "2024-01-02", "genome_build": "GRCh38",
            "knowledgebase_version": "civic-2024-01", "config": {"min_depth": 100, "note": IMG}}


@pytest.fixture
def response() -> pd.DataFrame:
    return pd.DataFrame([{"patient": P1, "response": "progression", "change_from_baseline_pct": -42.123,
                          "doubling_time_days": 30.5}])


KB_CONTEXT = {"CIViC:EID123": {"resistance_to": "gefitinib, erlotinib", "evidence": "PMID:22722843"}}


@pytest.fixture
def report(timeline, alerts, events, meta, response) -> str:
    meta = {**meta, "checksums": [["sample sheet", "samples.tsv", "12", "ab" * 32], ["VCF of X", "vcf/" + IMG, "3", "cd" * 32]]}
    return render_report(timeline, alerts, events, meta, response, KB_CONTEXT)


def _without_script_bodies(doc: str) -> str:
    """The document with the contents of every <script> removed (tags kept)."""
    return re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", doc, flags=re.S | re.I)


def _data(doc: str) -> dict:
    """The JSON the page draws the swimmer plot and the patients from."""
    body = re.search(r'<script type="application/json" id="ctdna-data">(.*?)</script>', doc, flags=re.S).group(1)
    return json.loads(body)


def _patient(doc: str, pid: str) -> dict:
    return next(p for p in _data(doc)["patients"] if p["id"] == pid)


def test_plotlyjs_embedded_exactly_once(report):
    marker = plotly.offline.get_plotlyjs()[:500]  # licence header + start of the bundle
    assert report.count(marker) == 1
    assert len(re.findall(r"<script\b", report)) == 3  # bundle, embedded data, page script
    assert "Plotly.newPlot(" in report


def test_plotlyjs_is_inert_text_until_the_page_needs_it(report):
    # not a script the browser runs while parsing: the page evaluates it after the overview is interactive
    tag = re.search(r'<script\b[^>]*id="plotly-src"[^>]*>', report).group(0)
    assert 'type="text/plain"' in tag
    body = report[report.index(tag) + len(tag):]
    assert body[:body.index("</script")] == plotly.offline.get_plotlyjs()


def test_plotlyjs_that_could_close_its_tag_is_embedded_as_json(monkeypatch):
    from ctdna_monitor.report import document

    hostile = "var a = '</script><script>alert(1)</script>', b = '<!--';"
    monkeypatch.setattr(document.plotly.offline, "get_plotlyjs", lambda: hostile)
    document.plotly_block.cache_clear()
    try:
        block = document.plotly_block()
    finally:
        document.plotly_block.cache_clear()
    assert block.startswith('<script type="application/json" id="plotly-src">') and block.count("</script") == 1
    assert "<" not in block[len('<script type="application/json" id="plotly-src">'):-len("</script>")]
    assert json.loads(re.search(r">(.*)</script>$", block, re.S).group(1)) == hostile


def test_no_remote_resources(report):
    outside_scripts = _without_script_bodies(report)
    for tag in re.finditer(r"<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*>",
                           outside_scripts, flags=re.I):
        assert not re.search(r"(src|href|data)\s*=\s*[\"']?\s*(https?:)?//", tag.group(0), re.I), tag.group(0)
    assert "<link" not in outside_scripts.lower()
    assert "@import" not in outside_scripts and "url(" not in outside_scripts
    # the only absolute URLs outside scripts are the evidence links
    for url in re.findall(r"""(?:src|href)\s*=\s*["']?(https?://[^"'\s>]+)""", outside_scripts, re.I):
        assert url.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://civicdb.org/links/evidence_items/")), url
    assert 'http-equiv="Content-Security-Policy"' in report and "default-src 'none'" in report


def test_hostile_strings_are_escaped(report):
    for raw in HOSTILE:
        assert raw not in report
        assert html.escape(raw) in report
    assert html.escape("KRAS" + IMG) in report  # the alert table
    assert len(re.findall(r"<script\b", report)) == 3  # no value closed a script early or opened a new one
    assert "<img" not in _without_script_bodies(report).lower()
    # the embedded data still carries the exact strings (the page writes them as text)
    assert _patient(report, P2)["variants"][0]["label"] == "KRAS" + IMG + " p.G12C"
    assert _data(report)["checksums"][1][1] == "vcf/" + IMG


def test_notice_title_and_provenance(report):
    assert "<h1>ctdna-monitor report</h1>" in report
    assert NOTICE in report
    assert "Research use only" in report.split("<h1>", 1)[1][:400]  # right under the title
    provenance = report[report.index('id="provenance"'):]
    for value in ("0.1.0", "GRCh38", "civic-2024-01", "2024-01-02"):
        assert value in provenance
    assert "<details>" in provenance and "&quot;min_depth&quot;: 100" in provenance
    assert "SHA-256 checksums (2)" in provenance


def test_each_patient_has_a_section(report):
    for pid in (P1, P2, P3):
        anchor = patient_anchor(pid)
        assert re.fullmatch(r"patient-[A-Za-z0-9_-]+", anchor)
        assert f'<section class="patient" id="{anchor}"><h2>Patient {html.escape(pid)}</h2>' in report
        assert _patient(report, pid)["anchor"] == anchor
    assert patient_anchor("a b") != patient_anchor("a_b")  # the hash keeps sanitised ids distinct


def test_cohort_summary(report):
    summary = report[report.index('id="summary"'):report.index('id="swimmer"')]
    assert "<dt>Patients</dt><dd>3</dd>" in summary
    assert "<dt>Patients with an alert</dt><dd>2</dd>" in summary
    assert "<dt>Draws</dt><dd>7</dd>" in summary
    assert "<dt>Variants tracked</dt><dd>4</dd>" in summary
    assert "emergence: 1" in summary and "rising: 1" in summary
    assert "Knowledge-base hits</dt><dd>1 " in summary
    assert "median 83 days (range 83–83; n=1)" in summary  # the alert without a lead time is skipped
    assert "<dt>Molecular response</dt><dd>progression: 1</dd>" in summary


def test_alert_table(report):
    table = report[report.index('id="alerts"'):report.index('id="patients"')]
    assert f'<a href="#{patient_anchor(P1)}">{P1}</a>' in table
    assert '<td class="num" data-v="83.0">83</td>' in table  # lead time, with a numeric sort key
    assert '<td class="num" data-v="0.004">0.40%</td>' in table
    assert ">20/5000</td>" in table
    assert "2023-06-01" in table  # progression date
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/22722843/"' in table
    assert '<a href="https://civicdb.org/links/evidence_items/123"' in table
    assert 'class="sortable" id="alert-table"' in table and 'data-sort="num"' in table
    # filters by type, gene and drug, with the rows carrying what they are filtered on
    assert '<tr data-type="emergence" data-gene="EGFR" data-drugs="gefitinib">' in table
    for name in ("type", "gene", "drugs"):
        assert f'data-filter="{name}"' in table
    assert '<option value="rising">rising</option>' in table
    assert f'<option value="{html.escape(SCRIPT.lower(), quote=True)}">' in table  # drug filter, escaped


def test_patient_index_with_molecular_response(report):
    index = report[report.index('id="patients"'):report.index('id="patient-sections"')]
    row = index[index.index(f'<tr data-patient="{P1}">'):]
    row = row[:row.index("</tr>")]
    assert f'<a href="#{patient_anchor(P1)}">{P1}</a>' in row
    assert "<td>emergence</td>" in row and "<td>progression</td>" in row
    assert '<td class="num" data-v="83.0">83</td>' in row  # lead time of the first resistance alert
    assert '<td class="num" data-v="-42.1">-42.1%</td>' in row


def test_patient_data_for_the_figure(report):
    p1 = _patient(report, P1)
    assert [d[1] for d in p1["draws"]] == ["2023-01-10", "2023-03-10", "2023-05-10"]
    kb, other = p1["variants"]
    assert kb["label"] == "EGFR p.T790M" and kb["kb_id"] == "CIViC:EID123"  # KB hit first
    context = _data(report)["kb"]  # drug context for the hover, stored once for the cohort
    assert context == {"CIViC:EID123": {"resistance_to": "gefitinib, erlotinib",
                                        "evidence": [["PMID:22722843", "https://pubmed.ncbi.nlm.nih.gov/22722843/"]]}}
    # status codes: 0 detected, 1 not detected, 2 not assessable; [status, vaf, alt, depth, lod, p, bam]
    assert kb["cells"][0][0] == 1 and kb["cells"][0][4] == pytest.approx(0.001)
    assert kb["cells"][2][:4] == [0, 0.031, 155, 5000]
    assert other["label"] == "chr7:1000 C>T" and other["cells"][1][0] == 2
    assert p1["therapies"] == [["gefitinib", "2023-01-05", "2023-06-05"],
                               ["osimertinib" + SCRIPT, "2023-06-10", "2023-06-10"]]
    assert p1["scans"] == [["2023-06-01", "PD"]]
    assert p1["lead"] == ["2023-03-10", "2023-06-01", 83]  # first resistance alert -> PD scan
    assert p1["origin"] == "2023-01-05"  # swimmer day 0: the first therapy start
    assert p1["response"]["response"] == "progression"
    alert = p1["alerts"][0]
    assert alert["type"] == "emergence" and alert["progression"] == "2023-06-01"
    assert [url for _, url in alert["evidence"]] == ["https://pubmed.ncbi.nlm.nih.gov/22722843/",
                                                    "https://civicdb.org/links/evidence_items/123"]
    p2 = _patient(report, P2)
    assert p2["therapies"] == [] and p2["scans"] == [] and p2["lead"] is None  # no events, no KB alert
    assert p2["origin"] == "2023-02-01"  # no therapy: the first draw
    assert p2["alerts"][0]["evidence"] == [["PMID:1" + IMG, ""]]  # not a link: url only from digits


def test_empty_alerts_and_events(timeline, meta):
    for events in (pd.DataFrame(), pd.DataFrame(columns=["patient", "date", "event", "value"])):
        doc = render_report(timeline, pd.DataFrame(), events, meta)
        assert "<p>No alerts</p>" in doc
        assert len(_data(doc)["patients"]) == 3
        assert "n/a (no alert has a lead time)" in doc


def test_everything_empty():
    doc = render_report(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {})
    assert NOTICE in doc and "No alerts" in doc and "No patients" in doc
    assert doc.count(plotly.offline.get_plotlyjs()[:500]) == 1
    assert _data(doc)["patients"] == []


def test_evidence_links():
    out = evidence_html("PMID:22722843; CIViC:EID7;ClinVar:<b>x</b>")
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/22722843/"' in out
    assert 'href="https://civicdb.org/links/evidence_items/7"' in out
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<b>" not in out
    assert evidence_html(np.nan) == ""


def test_input_checksums(tmp_path):
    (tmp_path / "vcf").mkdir()
    vcf = tmp_path / "vcf" / "d1.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("patient\tsample\tdate\tvcf\nP1\tP1-D1\t2025-01-01\tvcf/d1.vcf\n")
    kb, drugs = tmp_path / "kb.tsv", tmp_path / "drugs.tsv"
    kb.write_text("kb\n")
    drugs.write_text("drugs\n")
    rows = input_checksums(str(sheet), "", str(kb), str(drugs), base=tmp_path)
    assert [r[0] for r in rows] == ["sample sheet", "knowledge base", "drug table", "VCF"]
    assert rows[3][1:] == ["vcf/d1.vcf", str(vcf.stat().st_size), hashlib.sha256(vcf.read_bytes()).hexdigest()]


@pytest.mark.skipif(not chromium.available(), reason="chromium, chromedriver or selenium missing (.ci/run installs them)")
def test_swimmer_plot_in_chromium(timeline, alerts, events, meta, tmp_path):
    """Every patient gets a lane, labelled as text (hostile ids too), with no invalid geometry, even for a
    patient known only from an alert (no draws, no therapy); hovering an event names it."""
    from selenium.webdriver.common.action_chains import ActionChains

    alert_only = {**alerts.iloc[0].to_dict(), "patient": "PT-004", "date": "2023-02-02", "progression_date": ""}
    page = tmp_path / "report.html"
    page.write_text(render_report(timeline, pd.concat([alerts, pd.DataFrame([alert_only])]), events, meta), encoding="utf-8")
    with chromium.chromium() as driver:
        driver.get(page.as_uri() + "?lazy")
        chromium.wait_for(driver, "window.ctdnaReady")
        labels = driver.execute_script("return Array.from(document.querySelectorAll('#swimmer-plot .swim-label')).map(t => t.textContent)")
        paths = driver.execute_script("return Array.from(document.querySelectorAll('#swimmer-plot path')).map(p => p.getAttribute('d'))")
        stars = driver.execute_script(
            "return (document.querySelector('#swimmer-plot path[data-kind=\"resistance alert\"]').getAttribute('d').match(/M/g) || []).length")
        legend = driver.execute_script("return document.getElementById('swimmer-legend').textContent")
        # point at the only PD scan (P1's): the tooltip names the patient and the scan
        lanes = driver.find_element("css selector", "#swimmer-plot svg.swim-lanes")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", lanes)
        x, y = driver.execute_script(
            "var r = arguments[0].getBoundingClientRect(), b = document.querySelector('#swimmer-plot path[data-kind=\"scan PD\"]')"
            ".getBoundingClientRect(); return [b.left + b.width / 2 - r.left - r.width / 2, b.top + b.height / 2 - r.top - r.height / 2]",
            lanes)
        ActionChains(driver).move_to_element_with_offset(lanes, int(x), int(y)).perform()
        tip = driver.execute_script("var t = document.getElementById('swimmer-tip'); return t.hidden ? '' : t.textContent")
        errors = chromium.console_errors(driver)
    assert sorted(labels) == sorted([P1, P2, P3, "PT-004"])  # P2 carries markup, shown as text
    assert paths and not any("NaN" in d or "undefined" in d for d in paths)
    assert stars == 3  # resistance alerts: P1's and PT-004's emergence, P2's rising
    assert "gefitinib" in legend and "osimertinib" + SCRIPT in legend
    assert tip.startswith(f"Patient {P1}") and "scan 2023-06-01: PD" in tip, tip
    assert not errors, errors


def test_unknown_therapies_come_first_escaped_and_cancer_types_are_shown(timeline, alerts, events, meta):
    hostile = f"drug{SCRIPT}"
    doc = render_report(timeline, alerts, events, meta, None, KB_CONTEXT, {hostile: [P1, P2]},
                        {P1: "LUAD (Lung Adenocarcinoma)"})  # fmt: skip
    box = doc[doc.index('id="unknown-therapies"'): doc.index("</section>", doc.index('id="unknown-therapies"'))]
    assert doc.index('id="unknown-therapies"') < doc.index('id="summary"')
    assert "no resistance alert is raised under these therapies" in box and SCRIPT not in box
    assert html.escape(hostile) in box and f'href="#{patient_anchor(P2)}"' in box
    assert "Cancer type: LUAD (Lung Adenocarcinoma)" in doc and "Cancer type: not recorded" in doc
    assert "<th data-sort=\"text\" tabindex=\"0\">Cancer type</th>" in doc
    assert 'id="unknown-therapies"' not in render_report(timeline, alerts, events, meta)  # none: no box


def test_background_qc_section_lists_recurrent_variants_escaped(timeline, alerts, events):
    background = pd.DataFrame([
        {"chrom": "chr7", "pos": 55181378, "ref": "C", "alt": "T", "substitution": "C>T", "error_rate": 2e-4,
         "dispersion": 1e-4, "source": "cohort", "n_patients": 40, "n_draws_excluded": 0, "alt_reads": 50,
         "depth": 250000, "carrier_patients": 0, "recurrent_variant": "no"},
        {"chrom": "chr12", "pos": 25245350, "ref": "C", "alt": "A", "substitution": "C>A", "error_rate": 5e-4,
         "dispersion": 0.0, "source": "substitution_class" + IMG, "n_patients": 0, "n_draws_excluded": 24,
         "alt_reads": 0, "depth": 0, "carrier_patients": 4, "recurrent_variant": "yes"},
    ])  # fmt: skip
    doc = render_report(timeline, alerts, events, {}, background=background)
    section = doc[doc.index('<section id="background-qc">'):]
    section = section[: section.index("</section>")]
    assert "Sites flagged as recurrent variants (1)" in section and "(4 patients)" in section
    assert "chr7:55181378 C&gt;T" in section and "EGFR" in section and "0.0002" in section
    assert IMG not in doc and html.escape(IMG) in section
    assert 'href="#background-qc"' in doc
    assert 'id="background-qc"' not in render_report(timeline, alerts, events, {})


def test_input_checksums_are_recomputed_only_for_changed_files(tmp_path):
    (tmp_path / "vcf").mkdir()
    vcfs = [tmp_path / "vcf" / f"d{n}.vcf" for n in (1, 2)]
    for vcf in vcfs:
        vcf.write_text(f"##fileformat=VCFv4.2\n##{vcf.name}\n")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("patient\tsample\tdate\tvcf\nP1\tP1-D1\t2025-01-01\tvcf/d1.vcf\nP1\tP1-D2\t2025-02-01\tvcf/d2.vcf\n")
    kb, drugs, cache = tmp_path / "kb.tsv", tmp_path / "drugs.tsv", tmp_path / "cache" / "sums.json"
    kb.write_text("kb\n")
    drugs.write_text("drugs\n")
    first = input_checksums(str(sheet), "", str(kb), str(drugs), base=tmp_path, cache=str(cache))
    assert cache.is_file() and first == input_checksums(str(sheet), "", str(kb), str(drugs), base=tmp_path)
    # unchanged files' checksums come from the cache (a marked entry shows it is used), an edited file's
    # (new size and time) is computed again
    data = json.loads(cache.read_text())
    data["files"][str(vcfs[0])][4] = "from-the-cache"
    cache.write_text(json.dumps(data))
    assert input_checksums(str(sheet), "", str(kb), str(drugs), base=tmp_path, cache=str(cache))[3][3] == "from-the-cache"
    vcfs[1].write_text("##fileformat=VCFv4.2\n##changed\n")
    later = input_checksums(str(sheet), "", str(kb), str(drugs), base=tmp_path, cache=str(cache))
    assert later[4] == ["VCF", "vcf/d2.vcf", str(vcfs[1].stat().st_size), hashlib.sha256(vcfs[1].read_bytes()).hexdigest()]
    assert later[:3] == first[:3] and later[3][3] == "from-the-cache"

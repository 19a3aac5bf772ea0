"""`ctdna-monitor-kb import-civic`: CIViC releases (current and pre-2023 headers) into a review table.

The tests write CIViC-shaped files themselves. Column names follow CIViC's exporter (griffithlab/civic-v2
server/app/tsv_formatters/*_tsv_formatter.rb at d289c78f; pre-2023: the release files in
griffithlab/civic-server public/downloads/nightly/, 2021-02-25, plus is_flagged as the exporter of 2022-04
added). Positions are real GRCh37 ones from those CIViC files, so the liftover test can compare with the
knowledge base's two-source GRCh38 values; it skips without ../shared/reference.
"""

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAIN = ROOT.parent / "shared" / "reference" / "hg19ToHg38.over.chain.gz"
needs_chain = pytest.mark.skipif(not CHAIN.exists(), reason="../shared/reference/hg19ToHg38.over.chain.gz absent")

CURRENT_EVIDENCE = (
    "molecular_profile molecular_profile_id disease doid phenotypes therapies therapy_interaction_type evidence_type "
    "evidence_direction evidence_level significance evidence_statement citation_id source_type asco_abstract_id "
    "citation nct_ids rating evidence_status evidence_id variant_origin last_review_date evidence_civic_url "
    "molecular_profile_civic_url is_flagged"
).split()
CURRENT_VARIANTS = (
    "variant_id variant_civic_url feature_type feature_id feature_name feature_civic_url variant variant_aliases "
    "is_flagged variant_groups variant_types single_variant_molecular_profile_id last_review_date "
    "gene entrez_id chromosome start stop reference_bases variant_bases representative_transcript ensembl_version "
    "reference_build hgvs_descriptions allele_registry_id clinvar_ids ncit_id "
    "5_prime_partner_status 5_prime_partner 3_prime_partner_status 3_prime_partner vicc_compliant_name "
    "5_prime_transcript 5_prime_end_exon 5_prime_exon_offset 5_prime_exon_offset_direction 3_prime_transcript "
    "3_prime_start_exon 3_prime_exon_offset 3_prime_exon_offset_direction iscn_name"
).split()
PRE2023_EVIDENCE = (
    "gene entrez_id variant disease doid phenotypes drugs drug_interaction_type evidence_type evidence_direction "
    "evidence_level clinical_significance evidence_statement citation_id source_type asco_abstract_id citation "
    "nct_ids rating evidence_status evidence_id variant_id gene_id chromosome start stop reference_bases "
    "variant_bases representative_transcript chromosome2 start2 stop2 representative_transcript2 ensembl_version "
    "reference_build variant_summary variant_origin last_review_date evidence_civic_url variant_civic_url "
    "gene_civic_url is_flagged"
).split()
PRE2023_VARIANTS = (
    "variant_id variant_civic_url gene entrez_id variant summary variant_groups chromosome start stop "
    "reference_bases variant_bases representative_transcript ensembl_version reference_build chromosome2 start2 "
    "stop2 representative_transcript2 variant_types hgvs_expressions last_review_date civic_variant_evidence_score "
    "allele_registry_id clinvar_ids variant_aliases assertion_ids assertion_civic_urls"
).split()
# releases of 2022-08..2022-12: molecular profiles, but still `drugs` and `clinical_significance`, and
# VariantSummaries without single_variant_molecular_profile_id (civic-v2 3b6a745c5)
MIXED_EVIDENCE = [{"therapies": "drugs", "therapy_interaction_type": "drug_interaction_type",
                   "significance": "clinical_significance"}.get(c, c) for c in CURRENT_EVIDENCE]
MIXED_VARIANTS = (
    "variant_id variant_civic_url gene entrez_id variant variant_groups chromosome start stop reference_bases "
    "variant_bases representative_transcript ensembl_version reference_build chromosome2 start2 stop2 "
    "representative_transcript2 variant_types hgvs_expressions last_review_date allele_registry_id clinvar_ids "
    "variant_aliases is_flagged"
).split()

# variant_id: (gene, name, chrom, start, stop, ref, alt, build, hgvs); molecular profile id = 1000 + variant_id
VARIANTS = {
    34: ("EGFR", "T790M", "7", 55249071, 55249071, "C", "T", "GRCh37",
         "ENST00000275493.2:c.2369C>T,NM_005228.4:c.2369C>T,NP_005219.2:p.Thr790Met"),
    415: ("EGFR", "C797S", "7", 55249091, 55249091, "T", "A", "GRCh37", "NM_005228.4:c.2389T>A"),
    8: ("ALK", "F1174L", "2", 29443695, 29443695, "G", "T", "GRCh37", ""),
    83: ("MAP2K1", "Q56P", "15", 66727451, 66727451, "A", "C", "GRCh37", "NM_002755.3:c.167A>C"),
    101: ("PDGFRA", "I843DEL", "4", 55152095, 55152097, "ATC", "", "GRCh37", ""),
    78: ("KRAS", "G12C", "12", 25245351, 25245351, "C", "A", "GRCh38", "NM_004985.5:c.34G>T"),
    190: ("EGFR", "AMPLIFICATION", "7", 55086794, 55279321, "", "", "GRCh37", ""),
    900: ("EGFR", "Exon 20 Insertion", "", None, None, "", "", "", ""),
}
MULTI = (5000, "EGFR T790M AND EGFR C797S")
# eid: (variant_id or MULTI, type, significance, direction, status, therapies, interaction, pmid, level)
EVIDENCE = {
    100: (34, "Predictive", "Resistance", "Supports", "accepted", "Erlotinib", "", "15737014", "B"),
    101: (34, "Predictive", "Resistance", "Supports", "accepted", "Gefitinib,Erlotinib", "Substitutes", "15728811",
          "B"),
    102: (34, "Diagnostic", "Positive", "Supports", "accepted", "", "", "111", "B"),
    103: (34, "Prognostic", "Poor Outcome", "Supports", "accepted", "", "", "112", "B"),
    104: (34, "Predictive", "Sensitivity/Response", "Supports", "accepted", "Osimertinib", "", "113", "A"),
    105: (34, "Predictive", "Resistance", "Supports", "submitted", "Afatinib", "", "114", "C"),
    106: (34, "Predictive", "Resistance", "Supports", "rejected", "Dacomitinib", "", "115", "C"),
    107: (34, "Predictive", "Resistance", "Does Not Support", "accepted", "Gefitinib", "", "116", "C"),
    110: (415, "Predictive", "Resistance", "Supports", "accepted", "Osimertinib", "", "26005347", "B"),
    120: (MULTI, "Predictive", "Resistance", "Supports", "accepted", "Osimertinib", "", "117", "B"),
    130: (190, "Predictive", "Resistance", "Supports", "accepted", "Gefitinib", "", "118", "C"),
    131: (900, "Predictive", "Resistance", "Supports", "accepted", "Gefitinib", "", "119", "C"),
    140: (8, "Predictive", "Resistance", "Supports", "accepted", "TAE684", "", "21030459", "D"),
    150: (83, "Predictive", "Resistance", "Supports", "accepted", "Dabrafenib,Trametinib", "Combination",
          "24265155", "B"),
    160: (101, "Predictive", "Resistance", "Supports", "accepted", "Imatinib", "", "16954519", "B"),
    170: (78, "Predictive", "Resistance", "Supports", "accepted", "Sotorasib", "", "", "D"),
}
KEPT = {100, 101, 110, 140, 150, 160, 170}
SKIPPED = {102: "evidence_type 'Diagnostic'", 103: "evidence_type 'Prognostic'",
           104: "significance 'Sensitivity/Response'", 105: "evidence_status 'submitted'",
           106: "evidence_status 'rejected'", 107: "evidence_direction 'Does Not Support'",
           120: "multi-variant molecular profile", 130: "no alleles in VariantSummaries",
           131: "no coordinates in VariantSummaries"}
# a statement with a quote and a tab: CIViC's Ruby CSV writer quotes such values
STATEMENT = 'Acquired "gatekeeper"\tchange; research use only.'

KB_HEADER = ("id gene protein_change transcript hgvs_c grch38_chrom grch38_pos grch38_ref grch38_alt grch37_chrom "
             "grch37_pos grch37_ref grch37_alt resistance_to drug_class cancer_types evidence drug_evidence "
             "coordinate_sources note").split()
# GRCh38 values are the knowledge base's two-source ones (resources/resistance_mutations.tsv 2026.11.0)
KB_ROWS = [
    ("EGFR_T790M", "EGFR", "T790M", "chr7", "55181378", "C", "T", "chr7", "55249071", "C", "T", "gefitinib"),
    ("EGFR_C797S_c2390GC", "EGFR", "C797S", "", "", "", "", "chr7", "55249092", "G", "C", "osimertinib"),
    ("MAP2K1_Q56P", "MAP2K1", "Q56P", "chr15", "66435113", "A", "C", "chr15", "66727451", "A", "C", "vemurafenib"),
]


def _write(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header])
    return path


def _variant_fields(vid):
    gene, name, chrom, start, stop, ref, alt, build, hgvs = VARIANTS[vid]
    return {"variant_id": vid, "gene": gene, "variant": name, "chromosome": chrom, "start": start or "",
            "stop": stop or "", "reference_bases": ref, "variant_bases": alt, "reference_build": build,
            "variant_civic_url": f"https://civicdb.org/links/variants/{vid}"}


def write_release(folder, generation, kb_rows=KB_ROWS):
    """CIViC-shaped EVIDENCE/VARIANTS files of one header generation, and a small knowledge base."""
    folder.mkdir(parents=True, exist_ok=True)
    variants, evidence = [], []
    for vid in VARIANTS:
        row = _variant_fields(vid)
        hgvs = VARIANTS[vid][8]
        if generation == "current":
            row.update(feature_type="Gene", feature_name=row["gene"], single_variant_molecular_profile_id=1000 + vid,
                       hgvs_descriptions=hgvs)
        else:
            row.update(hgvs_expressions=hgvs, summary="Summary.")
        variants.append(row)
    if generation == "current":  # a fusion variant: feature columns only, no gene coordinates
        variants.append({"variant_id": 5, "feature_type": "Fusion", "feature_name": "BCR::ABL1",
                         "variant": "Fusion", "vicc_compliant_name": "BCR(entrez:613)::ABL1(entrez:25)"})
    for eid, (target, etype, sig, direction, status, therapies, interaction, pmid, level) in EVIDENCE.items():
        if target == MULTI and generation == "pre2023":
            continue  # molecular profiles of several variants exist only since 2022
        row = {"evidence_id": eid, "evidence_type": etype, "evidence_direction": direction, "evidence_status": status,
               "evidence_level": level, "citation_id": pmid, "source_type": "PubMed" if pmid else "ASCO",
               "disease": "Lung Non-small Cell Carcinoma", "doid": "3908", "evidence_statement": STATEMENT,
               "evidence_civic_url": f"https://civicdb.org/links/evidence_items/{eid}"}
        if generation == "pre2023":
            row.update(_variant_fields(target), drugs=therapies, drug_interaction_type=interaction,
                       clinical_significance=sig)
        else:
            mp_id, name = MULTI if target == MULTI else (1000 + target, f"{VARIANTS[target][0]} {VARIANTS[target][1]}")
            row.update(molecular_profile=name, molecular_profile_id=mp_id)
            if generation == "current":
                row.update(therapies=therapies, therapy_interaction_type=interaction, significance=sig)
            else:
                row.update(drugs=therapies, drug_interaction_type=interaction, clinical_significance=sig)
        evidence.append(row)
    headers = {"current": (CURRENT_EVIDENCE, CURRENT_VARIANTS), "pre2023": (PRE2023_EVIDENCE, PRE2023_VARIANTS),
               "mixed": (MIXED_EVIDENCE, MIXED_VARIANTS)}[generation]
    ev = _write(folder / "ClinicalEvidenceSummaries.tsv", headers[0], evidence)
    var = _write(folder / "VariantSummaries.tsv", headers[1], variants)
    kb = folder / "kb.tsv"
    with open(kb, "w", encoding="utf-8") as handle:
        handle.write("# ctdna-monitor resistance-mutation knowledge base (research use only)\n# version: test\n")
        handle.write("\t".join(KB_HEADER) + "\n")
        for kid, gene, protein, *coords, drugs in kb_rows:
            values = dict(zip(KB_HEADER, (kid, gene, protein, "", "", *coords, drugs)), evidence="PMID:1")
            handle.write("\t".join(values.get(c, "") for c in KB_HEADER) + "\n")
    return ev, var, kb


def run_import(evidence, variants, out, *extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "ctdna_monitor.curation.civic", "import-civic", str(evidence), str(variants),
           "--out", str(out), *map(str, extra)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)


def read_review(path):
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def by_key(rows):
    return {(r["id"], r["resistance_to"]): r for r in rows}


@pytest.fixture(scope="module")
def current(tmp_path_factory):
    folder = tmp_path_factory.mktemp("current")
    ev, var, kb = write_release(folder, "current")
    result = run_import(ev, var, folder / "review.tsv", "--existing", kb, "--skipped", folder / "skipped.tsv")
    assert result.returncode == 0, result.stderr
    return folder, result


def test_review_table_columns_and_candidates(current):
    folder, result = current
    text = (folder / "review.tsv").read_text()
    assert text.startswith("# ctdna-monitor CIViC import: candidate rows for review")
    assert "research use only" in text.splitlines()[0]
    header = next(line for line in text.splitlines() if not line.startswith("#")).split("\t")
    assert header[: len(KB_HEADER)] == KB_HEADER
    assert {"review_status", "review_reason"} <= set(header[len(KB_HEADER):])
    rows = by_key(read_review(folder / "review.tsv"))
    assert set(rows) == {
        ("EGFR_T790M", "erlotinib"), ("EGFR_T790M", "gefitinib"), ("EGFR_C797S", "osimertinib"),
        ("ALK_F1174L", "TAE684"), ("MAP2K1_Q56P", "dabrafenib"), ("MAP2K1_Q56P", "trametinib"),
        ("PDGFRA_I843DEL", "imatinib"), ("KRAS_G12C", "sotorasib"),
    }
    kept = {int(e.removeprefix("CIViC:EID")) for r in rows.values() for e in r["evidence"].split(";") if "EID" in e}
    assert kept == KEPT
    assert "7 EIDs kept in 8 candidate rows" in result.stderr


def test_eids_of_one_variant_and_drug_are_grouped(current):
    rows = by_key(read_review(current[0] / "review.tsv"))
    erlotinib = rows[("EGFR_T790M", "erlotinib")]
    assert erlotinib["evidence"] == "CIViC:EID100;CIViC:EID101;PMID:15728811;PMID:15737014"
    assert erlotinib["drug_evidence"] == 'erlotinib: CIViC:EID100 therapy "Erlotinib", CIViC:EID101 therapy "Erlotinib"'
    assert erlotinib["drug_class"] == "egfr_tki_1st_2nd_gen"
    assert (erlotinib["gene"], erlotinib["protein_change"]) == ("EGFR", "T790M")
    assert (erlotinib["transcript"], erlotinib["hgvs_c"]) == ("NM_005228.4", "c.2369C>T")
    assert [erlotinib[f"grch37_{k}"] for k in ("chrom", "pos", "ref", "alt")] == ["chr7", "55249071", "C", "T"]
    assert "CIViC VariantSummaries (variant 34" in erlotinib["coordinate_sources"]
    assert rows[("EGFR_T790M", "gefitinib")]["evidence"] == "CIViC:EID101;PMID:15728811"
    # substitutes are separate drugs; a combination is named in each drug's evidence
    assert rows[("MAP2K1_Q56P", "trametinib")]["drug_evidence"] == (
        'trametinib: CIViC:EID150 therapy "Trametinib" (combination with "Dabrafenib")')


def test_status_against_the_existing_knowledge_base(current):
    rows = by_key(read_review(current[0] / "review.tsv"))
    status = {key: row["review_status"] for key, row in rows.items()}
    assert status[("EGFR_T790M", "gefitinib")] == "already_in_kb"
    assert status[("EGFR_T790M", "erlotinib")] == "adds_drug"
    assert status[("MAP2K1_Q56P", "dabrafenib")] == "adds_drug"
    # the knowledge base has C797S as c.2390G>C only: CIViC's c.2389T>A is a further allele row
    assert status[("EGFR_C797S", "osimertinib")] == "new"
    assert "EGFR_C797S_c2390GC" in rows[("EGFR_C797S", "osimertinib")]["review_reason"]
    # sotorasib is given for KRAS G12C (drugs.tsv sensitising_targets): never a resistance row for it
    assert status[("KRAS_G12C", "sotorasib")] == "conflict"
    assert "sensitising target" in rows[("KRAS_G12C", "sotorasib")]["review_reason"]
    # accepted evidence against the resistance is shown beside the candidate
    assert rows[("EGFR_T790M", "gefitinib")]["civic_contrary"] == "CIViC:EID107 (Resistance, Does Not Support)"


def test_unknown_therapy_is_kept_as_written_and_flagged(current):
    row = by_key(read_review(current[0] / "review.tsv"))[("ALK_F1174L", "TAE684")]
    assert row["drug_class"] == ""
    assert "'TAE684' is not in drugs.tsv" in row["review_reason"]
    assert row["drug_evidence"].startswith('TAE684: CIViC:EID140 therapy "TAE684"')


def test_builds_without_chain_and_indels(current):
    rows = by_key(read_review(current[0] / "review.tsv"))
    t790m = rows[("EGFR_T790M", "erlotinib")]
    assert all(t790m[f"grch38_{k}"] == "" for k in ("chrom", "pos", "ref", "alt"))
    assert "GRCh38 left empty: no --chain given" in t790m["note"]
    g12c = rows[("KRAS_G12C", "sotorasib")]  # a GRCh38 CIViC coordinate fills GRCh38 only
    assert [g12c[f"grch38_{k}"] for k in ("chrom", "pos", "ref", "alt")] == ["chr12", "25245351", "C", "A"]
    assert g12c["grch37_pos"] == "" and "GRCh37 left empty" in g12c["note"]
    indel = rows[("PDGFRA_I843DEL", "imatinib")]
    assert indel["grch37_pos"] == indel["grch38_pos"] == ""
    assert "indel" in indel["note"] and "4:55152095-55152097" in indel["note"]
    assert indel["civic_coordinates"] == "GRCh37 4:55152095-55152097 ATC>-"


def test_skipped_rows_and_reasons(current):
    folder, _ = current
    with open(folder / "skipped.tsv", encoding="utf-8") as handle:
        skipped = {int(r["evidence_id"]): r["reason"] for r in csv.DictReader(handle, delimiter="\t")}
    assert set(skipped) == set(SKIPPED)
    for eid, reason in SKIPPED.items():
        assert skipped[eid].startswith(reason), (eid, skipped[eid])


@pytest.mark.parametrize("generation", ["pre2023", "mixed"])
def test_older_headers_give_the_same_candidates(current, tmp_path, generation):
    ev, var, kb = write_release(tmp_path, generation)
    result = run_import(ev, var, tmp_path / "review.tsv", "--existing", kb, "--skipped", tmp_path / "skipped.tsv")
    assert result.returncode == 0, result.stderr
    assert read_review(tmp_path / "review.tsv") == read_review(current[0] / "review.tsv")
    with open(tmp_path / "skipped.tsv", encoding="utf-8") as handle:
        skipped = {int(r["evidence_id"]) for r in csv.DictReader(handle, delimiter="\t")}
    assert skipped == set(SKIPPED) - ({120} if generation == "pre2023" else set())
    label = "pre-2023 (drugs), variants" if generation == "pre2023" else "pre-2023 (drugs), molecular profiles"
    assert label in (tmp_path / "review.tsv").read_text()


def test_without_existing_knowledge_base_rows_are_unchecked(tmp_path):
    ev, var, _ = write_release(tmp_path, "current")
    result = run_import(ev, var, tmp_path / "review.tsv")
    assert result.returncode == 0, result.stderr
    status = {(r["id"], r["resistance_to"]): r["review_status"] for r in read_review(tmp_path / "review.tsv")}
    assert status.pop(("KRAS_G12C", "sotorasib")) == "conflict"
    assert set(status.values()) == {"unchecked"}


def test_tab_joined_assertion_urls_of_pre2023_variant_files(tmp_path):
    """Pre-2023 VariantSummaries wrote several assertion URLs tab-separated into the last column."""
    ev, var, kb = write_release(tmp_path, "pre2023")
    lines = var.read_text().splitlines()
    lines = [line + ("\thttps://civicdb.org/links/assertions/7\thttps://civicdb.org/links/assertions/8"
                     if line.startswith("34\t") else "") for line in lines]
    var.write_text("\n".join(lines) + "\n")
    result = run_import(ev, var, tmp_path / "review.tsv", "--existing", kb)
    assert result.returncode == 0, result.stderr
    assert ("EGFR_T790M", "erlotinib") in by_key(read_review(tmp_path / "review.tsv"))


@needs_chain
def test_grch38_by_liftover_matches_the_two_source_values(tmp_path):
    ev, var, kb = write_release(tmp_path, "current")
    result = run_import(ev, var, tmp_path / "review.tsv", "--existing", kb, "--chain", CHAIN)
    assert result.returncode == 0, result.stderr
    rows = by_key(read_review(tmp_path / "review.tsv"))
    t790m, q56p = rows[("EGFR_T790M", "erlotinib")], rows[("MAP2K1_Q56P", "dabrafenib")]
    assert [t790m[f"grch38_{k}"] for k in ("chrom", "pos", "ref", "alt")] == ["chr7", "55181378", "C", "T"]
    assert [q56p[f"grch38_{k}"] for k in ("chrom", "pos", "ref", "alt")] == ["chr15", "66435113", "A", "C"]
    assert "GRCh38: liftover of GRCh37 (hg19ToHg38.over.chain.gz)" in t790m["coordinate_sources"]
    assert t790m["review_status"] == "adds_drug"  # both builds agree with the knowledge base
    assert rows[("PDGFRA_I843DEL", "imatinib")]["grch38_pos"] == ""


@needs_chain
def test_a_knowledge_base_position_that_disagrees_is_a_conflict(tmp_path):
    altered = [row if row[0] != "MAP2K1_Q56P" else (*row[:4], "66435114", *row[5:]) for row in KB_ROWS]
    ev, var, kb = write_release(tmp_path, "current", kb_rows=altered)
    result = run_import(ev, var, tmp_path / "review.tsv", "--existing", kb, "--chain", CHAIN)
    assert result.returncode == 0, result.stderr
    row = by_key(read_review(tmp_path / "review.tsv"))[("MAP2K1_Q56P", "dabrafenib")]
    assert row["review_status"] == "conflict"
    assert "GRCh38 chr15:66435114:A:C" in row["review_reason"] and "chr15:66435113:A:C" in row["review_reason"]


def _one_line_error(result, *parts):
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


def test_missing_column_names_file_row_and_column(tmp_path):
    ev, var, _ = write_release(tmp_path, "current")
    ev.write_text(ev.read_text().replace("evidence_status", "status", 1))
    result = run_import(ev, var, tmp_path / "review.tsv")
    _one_line_error(result, str(ev), "row 1", "column 'evidence_status'")
    assert not (tmp_path / "review.tsv").exists()


def test_swapped_files_are_named(tmp_path):
    ev, var, _ = write_release(tmp_path, "current")
    result = run_import(var, ev, tmp_path / "review.tsv")
    _one_line_error(result, str(ev), "looks like ClinicalEvidenceSummaries")


def test_bad_value_names_row_and_column(tmp_path):
    ev, var, _ = write_release(tmp_path, "pre2023")
    lines = var.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("83\t"))
    lines[index] = lines[index].replace("\t66727451\t", "\t66,727,451\t", 1)
    var.write_text("\n".join(lines) + "\n")
    result = run_import(ev, var, tmp_path / "review.tsv")
    _one_line_error(result, str(var), f"row {index + 1}", "column 'start'", "66,727,451")


def test_short_row_names_row_and_column(tmp_path):
    ev, var, _ = write_release(tmp_path, "current")
    lines = ev.read_text().splitlines()
    lines[3] = "\t".join(lines[3].split("\t")[:5])
    ev.write_text("\n".join(lines) + "\n")
    result = run_import(ev, var, tmp_path / "review.tsv")
    _one_line_error(result, str(ev), "row 4", "column 'therapies'")


def test_missing_file_and_kb_as_output_are_refused(tmp_path):
    ev, var, kb = write_release(tmp_path, "current")
    _one_line_error(run_import(tmp_path / "nope.tsv", var, tmp_path / "review.tsv"), "nope.tsv", "not found")
    _one_line_error(run_import(ev, var, kb, "--existing", kb), "refusing")
    assert "version: test" in kb.read_text()


def test_register_adds_the_subcommand_to_a_kb_cli():
    from ctdna_monitor.curation import civic

    parser = argparse.ArgumentParser(prog="ctdna-monitor-kb")
    civic.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["import-civic", "e.tsv", "v.tsv", "--out", "r.tsv", "--chain", "c.gz"])
    assert args.func is civic.run
    assert (args.evidence, args.variants, args.out, args.chain, args.existing) == ("e.tsv", "v.tsv", "r.tsv", "c.gz",
                                                                                  None)

"""The evidence audit: each drug of a row must be named, with the alteration, by one of the row's CIViC items."""

import csv

import pytest

from ctdna_monitor.curation.evidence_audit import audit_rows, drug_evidence_items, read_civic_items
from ctdna_monitor.knowledgebase import DrugTable

HEADERS = {
    "pre2023": ["gene", "variant", "drugs", "evidence_type", "evidence_direction", "evidence_level",
                "clinical_significance", "citation_id", "source_type", "evidence_status", "evidence_id", "disease", "doid"],
    "current": ["molecular_profile", "molecular_profile_id", "therapies", "evidence_type", "evidence_direction",
                "evidence_level", "significance", "citation_id", "source_type", "evidence_status", "evidence_id",
                "disease", "doid"],
}  # fmt: skip
ITEMS = [  # eid, gene, variant, therapies, pmid, significance, direction
    (964, "EGFR", "C797S", "Osimertinib", "25939061", "Resistance", "Supports"),
    (1602, "MAP2K1", "C121S", "Vemurafenib", "21383288", "Resistance", "Supports"),
    (436, "BTK", "C481S", "Ibrutinib", "24869598", "Resistance", "Supports"),
    (5000, "EGFR", "T790M", "Osimertinib", "26", "Sensitivity/Response", "Supports"),
    (5001, "ESR1", "D538G", "Letrozole", "27", "Sensitivity/Response", "Does Not Support"),
]


def _release(path, generation):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADERS[generation])
        for eid, gene, variant, therapies, pmid, significance, direction in ITEMS:
            common = {"evidence_type": "Predictive", "evidence_direction": direction, "evidence_level": "B",
                      "citation_id": pmid, "source_type": "PubMed", "evidence_status": "accepted", "evidence_id": eid}
            if generation == "pre2023":
                common.update(gene=gene, variant=variant, drugs=therapies, clinical_significance=significance)
            else:
                common.update(molecular_profile=f"{gene} {variant}", molecular_profile_id=eid + 5000,
                              therapies=therapies, significance=significance)
            writer.writerow([common.get(c, "") for c in HEADERS[generation]])
    return path


def _row(kb_id, gene, protein, drugs, evidence, drug_evidence=""):
    return {"id": kb_id, "gene": gene, "protein_change": protein, "resistance_to": drugs, "evidence": evidence,
            "drug_evidence": drug_evidence}


@pytest.mark.parametrize("generation", ["pre2023", "current"])
def test_audit_verdicts(tmp_path, root, generation):
    items = read_civic_items(_release(tmp_path / "ev.tsv", generation), DrugTable(root / "resources" / "drugs.tsv"))
    rows = [
        _row("EGFR_C797S_c2390GC", "EGFR", "C797S", "osimertinib", "CIViC:EID964"),
        _row("BTK_C481S", "BTK", "C481S", "ibrutinib,acalabrutinib", "CIViC:EID436"),  # no source for one drug
        _row("MAP2K1_C121S", "MAP2K1", "C121S", "vemurafenib", "PMID:21383288"),  # PMID cited, CIViC has it
        _row("EGFR_L718Q", "EGFR", "L718Q", "osimertinib", "CIViC:EID964", "osimertinib: PMID:5 table 2"),
        _row("AR_T878A", "AR", "T878A", "abiraterone,enzalutamide", "PMID:1",
             "abiraterone: PMID:1 abstract; CGI row; enzalutamide: PMID:1 figure 2"),
        _row("KIT_V654A", "KIT", "V654A", "imatinib", "CIViC:EID99999", "imatinib: CIViC:EID99999 therapy"),
        _row("EGFR_T790M", "EGFR", "T790M", "osimertinib", "CIViC:EID5000"),  # the item reports sensitivity
        _row("ESR1_D538G", "ESR1", "D538G", "letrozole", "CIViC:EID5001"),  # no benefit: read as resistance
    ]
    verdicts = {(kb_id, drug): status for kb_id, drug, status, _ in audit_rows(rows, items)}
    assert verdicts == {
        ("EGFR_C797S_c2390GC", "osimertinib"): "civic_verified",
        ("BTK_C481S", "ibrutinib"): "civic_verified",
        ("BTK_C481S", "acalabrutinib"): "unsupported",
        ("MAP2K1_C121S", "vemurafenib"): "pmid_in_civic",
        ("EGFR_L718Q", "osimertinib"): "cited_but_not_in_evidence",
        ("AR_T878A", "abiraterone"): "other_source",
        ("AR_T878A", "enzalutamide"): "other_source",
        ("KIT_V654A", "imatinib"): "other_source",
        ("EGFR_T790M", "osimertinib"): "civic_item_not_resistance",
        ("ESR1_D538G", "letrozole"): "civic_verified",
    }
    details = {(kb_id, drug): detail for kb_id, drug, _, detail in audit_rows(rows[4:5], items)}
    assert details[("AR_T878A", "abiraterone")] == "PMID:1 abstract; CGI row"


def test_drug_evidence_items_split_per_drug():
    text = "imatinib: CIViC:EID1 therapy; PMID:2 via CGI; dasatinib: PMID:3 abstract; imatinib: PMID:4 table 1"
    assert drug_evidence_items(text, ["imatinib", "dasatinib"]) == {
        "imatinib": "CIViC:EID1 therapy; PMID:2 via CGI; PMID:4 table 1", "dasatinib": "PMID:3 abstract"}

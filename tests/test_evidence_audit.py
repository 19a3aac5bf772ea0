"""The evidence audit: each drug of a row must be named, with the alteration, by one of the row's CIViC items."""

import csv

import pytest

from ctdna_monitor.curation.evidence_audit import audit_rows, read_civic_items
from ctdna_monitor.knowledgebase import DrugTable

HEADERS = {
    "pre2023": ["gene", "variant", "drugs", "evidence_type", "evidence_direction", "evidence_level",
                "clinical_significance", "citation_id", "source_type", "evidence_status", "evidence_id", "disease", "doid"],
    "current": ["molecular_profile", "molecular_profile_id", "therapies", "evidence_type", "evidence_direction",
                "evidence_level", "significance", "citation_id", "source_type", "evidence_status", "evidence_id",
                "disease", "doid"],
}  # fmt: skip
ITEMS = [  # eid, gene, variant, therapies, pmid
    (964, "EGFR", "C797S", "Osimertinib", "25939061"),
    (1602, "MAP2K1", "C121S", "Vemurafenib", "21383288"),
    (436, "BTK", "C481S", "Ibrutinib", "24869598"),
]


def _release(path, generation):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADERS[generation])
        for eid, gene, variant, therapies, pmid in ITEMS:
            common = {"evidence_type": "Predictive", "evidence_direction": "Supports", "evidence_level": "B",
                      "citation_id": pmid, "source_type": "PubMed", "evidence_status": "accepted", "evidence_id": eid}
            if generation == "pre2023":
                common.update(gene=gene, variant=variant, drugs=therapies, clinical_significance="Resistance")
            else:
                common.update(molecular_profile=f"{gene} {variant}", molecular_profile_id=eid + 5000,
                              therapies=therapies, significance="Resistance")
            writer.writerow([common.get(c, "") for c in HEADERS[generation]])
    return path


def _row(kb_id, gene, protein, drugs, evidence):
    return {"id": kb_id, "gene": gene, "protein_change": protein, "resistance_to": drugs, "evidence": evidence,
            "drug_evidence": "x"}


@pytest.mark.parametrize("generation", ["pre2023", "current"])
def test_audit_verdicts(tmp_path, root, generation):
    items = read_civic_items(_release(tmp_path / "ev.tsv", generation), DrugTable(root / "resources" / "drugs.tsv"))
    rows = [
        _row("EGFR_C797S_c2390GC", "EGFR", "C797S", "osimertinib", "CIViC:EID964"),
        _row("BTK_C481S", "BTK", "C481S", "ibrutinib,acalabrutinib", "CIViC:EID436"),  # one drug not named
        _row("MAP2K1_C121S", "MAP2K1", "C121S", "vemurafenib", "PMID:21383288"),  # PMID cited, CIViC has it
        _row("EGFR_T790M", "EGFR", "T790M", "osimertinib", "CIViC:EID964"),  # the item names another change
        _row("AR_T878A", "AR", "T878A", "abiraterone", "PMID:1"),
        _row("KIT_V654A", "KIT", "V654A", "imatinib", "CIViC:EID99999"),
    ]
    verdicts = {(kb_id, drug): status for kb_id, drug, status, _ in audit_rows(rows, items)}
    assert verdicts == {
        ("EGFR_C797S_c2390GC", "osimertinib"): "civic_verified",
        ("BTK_C481S", "ibrutinib"): "civic_verified",
        ("BTK_C481S", "acalabrutinib"): "civic_does_not_name",
        ("MAP2K1_C121S", "vemurafenib"): "pmid_in_civic",
        ("EGFR_T790M", "osimertinib"): "civic_does_not_name",
        ("AR_T878A", "abiraterone"): "pmid_only",
        ("KIT_V654A", "imatinib"): "eid_not_in_release",
    }

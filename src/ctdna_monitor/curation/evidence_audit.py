"""Audit the knowledge base's CIViC citations against a CIViC evidence release (curation tool).

For every row and every drug it lists, the audit asks: does one of the row's cited CIViC evidence items (or a
CIViC item of one of its cited PMIDs) name this gene, this protein change (or its codon) and this drug, as
resistance? Where CIViC does not, the row's `drug_evidence` must name a source for the drug whose PMID/EID is
cited in `evidence`; that text is reported for a reviewer (`other_source`). The audit never edits the knowledge
base; it exits 1 when a drug has no support or a cited CIViC item reports sensitivity.
"""

from __future__ import annotations

import csv
import re
import sys

from ..knowledgebase import KB_COLUMNS, DrugTable, read_versioned_tsv
from .civic.tables import EVIDENCE_ALIASES, columns, read_civic_tsv

AUDIT_COLUMNS = ("id", "drug", "status", "detail")
_EID = re.compile(r"CIViC:EID(\d+)")
_PMID = re.compile(r"PMID:(\d+)")
_CODON = re.compile(r"^([A-Z])(\d+)")


def read_civic_items(path, drug_table: DrugTable) -> dict[int, dict]:
    """EID -> gene, variant name (or molecular profile), generic drug names, significance and status."""
    header, rows = read_civic_tsv(path, "ClinicalEvidenceSummaries")
    cols = columns(path, header, EVIDENCE_ALIASES, "ClinicalEvidenceSummaries", optional=("interaction",))
    items = {}
    for _line, raw in rows:
        if not raw[cols["evidence_id"]].isdigit():
            continue
        named = raw.get("molecular_profile") or f"{raw.get('gene', '')} {raw.get('variant', '')}"
        therapies = [t.strip() for t in raw[cols["therapies"]].split(",") if t.strip()]
        items[int(raw[cols["evidence_id"]])] = {
            "named": named.upper(),
            "drugs": {drug_table.resolve(t) or t.lower() for t in therapies},
            "significance": raw[cols["significance"]],
            "direction": raw[cols["evidence_direction"]],
            "status": raw[cols["evidence_status"]],
            "pmid": raw[cols["citation_id"]] if raw[cols["source_type"]] == "PubMed" else "",
        }
    return items


def _names_alteration(named: str, gene: str, protein: str) -> bool:
    if gene.upper() not in named:
        return False
    codon = _CODON.match(protein)
    tokens = set(re.split(r"[\s/,()]+", named))
    return protein.upper() in tokens or bool(codon and f"{codon.group(1)}{codon.group(2)}" in tokens)


def _pmid_items(row, drug, items, by_pmid) -> list[int]:
    """CIViC items citing one of the row's PMIDs that name its alteration and `drug`."""
    return [
        e for pmid in _PMID.findall(row["evidence"]) for e in by_pmid.get(pmid, ())
        if drug in items[e]["drugs"] and _names_alteration(items[e]["named"], row["gene"], row["protein_change"])
    ]  # fmt: skip


def drug_evidence_items(text: str, drugs) -> dict[str, str]:
    """Split `drug_evidence` into the text given for each drug: `drug: ...; ...; drug2: ...`.

    A `;`-separated part that does not start with one of `drugs` continues the previous drug's text.
    """
    found: dict[str, str] = {}
    current = None
    for part in (p.strip() for p in (text or "").split(";")):
        name, colon, rest = part.partition(":")
        if colon and name.strip().lower() in drugs:
            current = name.strip().lower()
            found[current] = f"{found[current]}; {rest.strip()}" if current in found else rest.strip()
        elif current and part:
            found[current] += "; " + part
    return found


def _verdict(row, drug, item_text, eids, items, by_pmid):
    """Status and detail for one drug of one row (see the module docstring)."""
    naming = [
        e for e in eids
        if e in items and drug in items[e]["drugs"]
        and _names_alteration(items[e]["named"], row["gene"], row["protein_change"])
    ]  # fmt: skip
    # "Sensitivity/Response, Does Not Support" (no benefit seen with the variant) is read as supporting resistance
    supporting = {("Resistance", "Supports"), ("Sensitivity/Response", "Does Not Support")}
    against = [e for e in naming if (items[e]["significance"], items[e]["direction"]) not in supporting]
    if against:
        return "civic_item_not_resistance", ", ".join(
            f"EID{e} {items[e]['significance']}/{items[e]['direction']}" for e in against)
    if naming:
        return "civic_verified", ", ".join(f"EID{e} {items[e]['status']}" for e in naming)
    via = _pmid_items(row, drug, items, by_pmid)
    if via:
        return "pmid_in_civic", ", ".join(f"PMID:{items[e]['pmid']} = EID{e}" for e in via)
    if item_text is None:
        return "unsupported", "no drug_evidence item names this drug"
    cited = set(_EID.findall(item_text)) | set(_PMID.findall(item_text))
    listed = set(_EID.findall(row["evidence"])) | set(_PMID.findall(row["evidence"]))
    if cited - listed:
        return "cited_but_not_in_evidence", f"{sorted(cited - listed)} in drug_evidence, not in evidence"
    return "other_source", item_text


def audit_rows(kb_rows, items: dict[int, dict]) -> list[tuple[str, str, str, str]]:
    """One (id, drug, status, detail) per drug of every row. Statuses, best first: `civic_verified` (a cited
    CIViC item names the alteration and the drug, as resistance), `pmid_in_civic` (a cited PMID is a CIViC item
    that does), `other_source` (the row's `drug_evidence` names a source for the drug: read it), and the
    failures `civic_item_not_resistance`, `cited_but_not_in_evidence` and `unsupported`."""
    by_pmid: dict[str, list[int]] = {}
    for eid, item in items.items():
        if item["pmid"]:
            by_pmid.setdefault(item["pmid"], []).append(eid)
    results = []
    for row in kb_rows:
        eids = [int(e) for e in _EID.findall(row["evidence"])]
        drugs = [d.strip().lower() for d in row["resistance_to"].split(",") if d.strip()]
        texts = drug_evidence_items(row.get("drug_evidence", ""), drugs)
        for drug in drugs:
            status, detail = _verdict(row, drug, texts.get(drug), eids, items, by_pmid)
            results.append((row["id"], drug, status, detail))
    return results


FAILURES = ("civic_item_not_resistance", "cited_but_not_in_evidence", "unsupported")


def register(subparsers):
    parser = subparsers.add_parser(
        "audit-evidence", help="check the knowledge base's CIViC citations name each row's alteration and drugs"
    )
    parser.add_argument("kb", help="knowledge base TSV (resources/resistance_mutations.tsv)")
    parser.add_argument("evidence", help="CIViC ClinicalEvidenceSummaries TSV (current or pre-2023 header)")
    parser.add_argument("--drugs", default="resources/drugs.tsv", help="drug table, to resolve CIViC therapy names")
    parser.add_argument("--out", default="-", help="audit TSV (default: standard output)")
    parser.set_defaults(func=run)


def run(args) -> int:
    kb_rows, _meta = read_versioned_tsv(args.kb, KB_COLUMNS, "knowledge base")
    items = read_civic_items(args.evidence, DrugTable(args.drugs))
    results = audit_rows(kb_rows, items)
    handle = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8", newline="")
    try:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(AUDIT_COLUMNS)
        writer.writerows(results)
    finally:
        if handle is not sys.stdout:
            handle.close()
    counts = {}
    for _id, _drug, status, _detail in results:
        counts[status] = counts.get(status, 0) + 1
    print("audit: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)
    return 1 if any(counts.get(status) for status in FAILURES) else 0

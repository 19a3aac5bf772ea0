"""The review table: candidates compared with the knowledge base, placed, and written for a curator."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

from ...errors import InputError
from ...knowledgebase import KB_COLUMNS, DrugTable, read_versioned_tsv
from ...variants import canonical_chrom
from .evidence import Candidate, Item, Skips, read_evidence, refseq_c
from .variants import BUILDS, lift_to_grch38, read_variants

_C_SNV = re.compile(r"^c\.(\d+)([ACGT])>([ACGT])$")


# the review table starts with the knowledge base's own columns (KB_COLUMNS), so accepted rows copy as they are
REVIEW_COLUMNS = ("review_status", "review_reason", "civic_variant", "civic_coordinates", "civic_diseases",
                  "civic_levels", "civic_contrary")  # fmt: skip
STATUSES = ("conflict", "new", "adds_drug", "already_in_kb", "unchecked")


class ExistingKb:
    """The current knowledge base (v1 or v2 columns), indexed by coordinate and by gene + protein change."""

    NEEDED = ("id", "gene", "protein_change", "resistance_to", *(f"{b.lower()}_{k}" for b in BUILDS
                                                                  for k in ("chrom", "pos", "ref", "alt")))

    def __init__(self, path):
        rows, _meta = read_versioned_tsv(path, self.NEEDED, "knowledge base")
        self.by_coord, self.by_protein = defaultdict(list), defaultdict(list)
        for row in rows:
            row["coords"] = {}
            for build in BUILDS:
                parts = [row[f"{build.lower()}_{k}"] for k in ("chrom", "pos", "ref", "alt")]
                if all(parts) and parts[1].isdigit():
                    coord = (canonical_chrom(parts[0]), int(parts[1]), parts[2].upper(), parts[3].upper())
                    row["coords"][build] = coord
                    self.by_coord[(build, *coord)].append(row)
            row["drugs"] = {d.strip().lower() for d in row["resistance_to"].split(",") if d.strip()}
            self.by_protein[(row["gene"].upper(), row["protein_change"])].append(row)


def compare(cand: Candidate, coords: dict, kb: ExistingKb | None):
    """(status, reasons) of a candidate against the knowledge base."""
    if kb is None:
        return "unchecked", ["no --existing knowledge base given: not compared"]
    reasons, status = [], None
    hits = []
    for build, coord in coords.items():
        hits += [r for r in kb.by_coord.get((build, *coord), []) if r not in hits]
    for row in hits:
        if (row["gene"].upper(), row["protein_change"]) != (cand.gene, cand.protein_change):
            status = "conflict"
            reasons.append(f"KB row {row['id']} has this position as {row['gene']} {row['protein_change']}")
        for build, coord in coords.items():
            if build in row["coords"] and row["coords"][build] != coord:
                status = "conflict"
                theirs = ":".join(map(str, row["coords"][build]))
                reasons.append(f"KB row {row['id']} has {build} {theirs}, the import {':'.join(map(str, coord))}")
    if not hits:
        same = kb.by_protein.get((cand.gene, cand.protein_change), [])
        unplaced = [r for r in same if not set(r["coords"]) & set(coords)]
        if same and coords and not unplaced:
            ids = ", ".join(r["id"] for r in same)
            other = f"KB has {cand.gene} {cand.protein_change} as another nucleotide change ({ids})"
            return "new", [f"{other}: a further allele row"]
        hits = unplaced if coords else same
        if hits:
            reasons.append("matched by gene and protein change only (no coordinate to compare)")
    if status:
        return status, reasons
    if not hits:
        return "new", reasons
    ids = ", ".join(r["id"] for r in hits)
    if any(cand.drug.lower() in r["drugs"] for r in hits):
        return "already_in_kb", reasons + [f"KB row {ids} lists {cand.drug}"]
    return "adds_drug", reasons + [f"KB row {ids} exists without {cand.drug}"]


# ------------------------------------------------------------------------------------------------ output
def _placed(cand: Candidate, chain):
    """KB coordinates per build, their coordinate_sources text and a note for any build left empty."""
    coords, sources, notes = {}, [], []
    if cand.coordinate is None:
        return coords, "", [f"not placed: {cand.coordinate_note}"]
    build, chrom, pos, ref, alt = cand.coordinate
    ids = ", ".join(str(i) for i in sorted(cand.variants))
    coords[build] = (chrom, pos, ref, alt)
    sources.append(f"{build}: CIViC VariantSummaries (variant {ids}, reference_build {build})")
    if build == "GRCh38":
        notes.append("GRCh37 left empty: CIViC gives GRCh38 and the project's chain maps GRCh37 to GRCh38 only")
    elif chain is None:
        notes.append("GRCh38 left empty: no --chain given for the GRCh37->GRCh38 liftover")
    else:
        lifted, why = lift_to_grch38(chain, chrom, pos, ref)
        if lifted is None:
            notes.append(f"GRCh38 left empty: {why}")
        else:
            coords["GRCh38"] = (lifted[0], lifted[1], ref, alt)
            sources.append(f"GRCh38: liftover of GRCh37 ({Path(str(chain)).name}); reference base not yet "
                           "checked against a sequence source")
    return coords, " | ".join(sorted(sources, key=lambda s: s[:6] != "GRCh38")), notes


def _item_text(item: Item):
    text = f'CIViC:EID{item.eid} therapy "{item.therapy}"'
    return text + (f' (combination with "{item.combination}")' if item.combination else "")


def _ids(candidates):
    """GENE_PROTEIN, with a nucleotide suffix where one protein change has several CIViC alleles."""
    keys = defaultdict(set)
    for cand in candidates:
        keys[(cand.gene, cand.protein_change)].add(cand.variant_key)
    result = {}
    for cand in candidates:
        base = f"{cand.gene}_{re.sub(r'[^A-Za-z0-9*]+', '_', cand.protein_change)}"
        if len(keys[(cand.gene, cand.protein_change)]) > 1:
            variant = cand.variants[min(cand.variants)]
            match = _C_SNV.match(refseq_c(variant)[1])
            base += f"_c{match.group(1)}{match.group(2)}{match.group(3)}" if match else f"_civic{variant.variant_id}"
        result[id(cand)] = base
    return result


def review_rows(candidates, contrary, drug_table: DrugTable, kb, chain):
    ids = _ids(candidates)
    rows = []
    for cand in candidates:
        coords, sources, notes = _placed(cand, chain)
        status, reasons = compare(cand, coords, kb)
        drug_key = cand.drug.lower()
        # accepted CIViC evidence against this resistance (sensitivity, or resistance not supported) is shown
        # beside the candidate; it does not set the status, which compares with the knowledge base
        against = sorted({e for v in cand.variants for e in contrary.get((v, drug_key), [])},
                         key=lambda e: int(re.search(r"\d+", e).group()))
        target = f"{cand.gene}:{cand.protein_change}".upper()
        if cand.known_drug and target in drug_table.targets(cand.drug):
            status = "conflict"
            reasons.append(f"{target} is a sensitising target of {cand.drug} in drugs.tsv")
        if not cand.known_drug:
            reasons.append(f"therapy '{cand.drug}' is not in drugs.tsv: kept as written; add it or map it by hand")
        variant = cand.variants[min(cand.variants)]
        transcript, hgvs_c = refseq_c(variant)
        if transcript:
            notes.append("transcript and hgvs_c as CIViC hgvs_descriptions give them: check the version against "
                          "resources/placement/transcripts.tsv")
        items = sorted(cand.items, key=lambda i: i.eid)
        evidence = [f"CIViC:EID{e}" for e in sorted({i.eid for i in items})]
        evidence += [f"PMID:{p}" for p in sorted({i.pmid for i in items if i.pmid}, key=int)]
        row = {c: "" for c in (*KB_COLUMNS, *REVIEW_COLUMNS)}
        row.update(
            id=ids[id(cand)], gene=cand.gene, protein_change=cand.protein_change, transcript=transcript,
            hgvs_c=hgvs_c, resistance_to=cand.drug,
            drug_class=",".join(drug_table.classes(cand.drug)) if cand.known_drug else "",
            evidence=";".join(evidence),
            drug_evidence=f"{drug_key if cand.known_drug else cand.drug}: "
                          + ", ".join(_item_text(i) for i in items),
            coordinate_sources=sources,
            note="; ".join(["candidate from a CIViC release (research use only)", *cand.remarks, *notes]),
            review_status=status, review_reason="; ".join(reasons),
            civic_variant="; ".join(f"{v.variant_id} {v.gene} {v.name}" for _, v in sorted(cand.variants.items())),
            civic_coordinates="; ".join(sorted({f"{v.build} {v.chrom}:{v.start}-{v.stop} "
                                               f"{v.ref or '-'}>{v.alt or '-'}" for v in cand.variants.values()})),
            civic_diseases="; ".join(sorted({i.disease for i in items if i.disease})),
            civic_levels=",".join(sorted({i.level for i in items if i.level})),
            civic_contrary="; ".join(against),
        )
        for build, (chrom, pos, ref, alt) in coords.items():
            prefix = build.lower()
            row.update({f"{prefix}_chrom": chrom, f"{prefix}_pos": str(pos), f"{prefix}_ref": ref,
                        f"{prefix}_alt": alt})
        rows.append(row)
    rows.sort(key=lambda r: (r["gene"], r["protein_change"], r["id"], r["resistance_to"].lower()))
    return rows


def _clean(value: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", value)


def write_review(path, rows, meta_lines):
    columns = (*KB_COLUMNS, *REVIEW_COLUMNS)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("# ctdna-monitor CIViC import: candidate rows for review, not knowledge-base rows "
                     "(research use only)\n")
        for line in meta_lines:
            handle.write(f"# {_clean(line)}\n")
        handle.write("\t".join(columns) + "\n")
        for row in rows:
            handle.write("\t".join(_clean(row[c]) for c in columns) + "\n")


def import_civic(evidence, variants, out, chain=None, existing=None, drugs="resources/drugs.tsv", skipped=None):
    """Run the import; returns a one-paragraph summary. Raises InputError on bad input, before writing."""
    out_path = Path(out)
    if existing and out_path.exists() and out_path.resolve() == Path(existing).resolve():
        raise InputError(out, "refusing to write candidates over the knowledge base", hint="choose another --out")
    if out_path.name == "resistance_mutations.tsv":
        raise InputError(out, "refusing to write candidates into a knowledge-base file", hint="choose another --out")
    if chain is not None and not Path(chain).is_file():
        raise InputError(chain, "liftover chain not found", hint="pass the UCSC hg19ToHg38.over.chain.gz path")
    if not Path(drugs).is_file():
        raise InputError(drugs, "drug table not found", hint="run from the project root or pass --drugs")
    drug_table = DrugTable(drugs)
    kb = ExistingKb(existing) if existing else None
    variant_index = read_variants(variants)
    skips = Skips()
    candidates, contrary, label, n_rows = read_evidence(evidence, variant_index, drug_table, skips)
    rows = review_rows(list(candidates.values()), contrary, drug_table, kb, chain)
    counts = Counter(r["review_status"] for r in rows)
    kept = len({i.eid for c in candidates.values() for i in c.items})
    summary = (f"{n_rows} evidence rows ({label} header); {kept} EIDs kept in {len(rows)} candidate rows ("
               + ", ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s]) + f"); {len(skips.rows)} skipped")
    meta = [f"evidence: {evidence}", f"variants: {variants}", f"header: {label}",
            f"chain: {chain or 'none (GRCh38 columns of GRCh37 variants left empty)'}",
            f"compared with: {existing or 'nothing (status unchecked)'}", f"drugs: {drugs}", f"summary: {summary}"]
    write_review(out, rows, meta)
    if skipped:
        with open(skipped, "w", encoding="utf-8", newline="") as handle:
            handle.write("line\tevidence_id\tcivic_name\treason\n")
            for line, eid, name, reason in skips.rows:
                handle.write(f"{line}\t{eid}\t{_clean(name)}\t{_clean(reason)}\n")
    reasons = Counter(re.sub(r"\d+", "N", r.split(" (")[0]) for *_, r in skips.rows)
    if reasons:
        summary += " (" + "; ".join(f"{n}× {r}" for r, n in reasons.most_common()) + ")"
    return summary



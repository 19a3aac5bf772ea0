"""The knowledge base and drug table: provenance on every row, self-consistent coordinates, matching."""

import re

import pytest

from ctdna_monitor.curation.evidence_audit import drug_evidence_items
from ctdna_monitor.errors import InputError
from ctdna_monitor.knowledgebase import KB_COLUMNS, DrugTable, KnowledgeBase, read_versioned_tsv

COMPLEMENT = str.maketrans("ACGT", "TGCA")
EVIDENCE = re.compile(r"^(PMID:\d+|CIViC:EID\d+)(;(PMID:\d+|CIViC:EID\d+))*$")


@pytest.fixture(scope="module")
def kb_rows(root):
    rows, meta = read_versioned_tsv(root / "resources" / "resistance_mutations.tsv", KB_COLUMNS, "kb")
    return rows, meta


@pytest.fixture(scope="module")
def kb(root):
    return KnowledgeBase(root / "resources" / "resistance_mutations.tsv")


def test_versioned_and_every_row_has_evidence(kb_rows):
    rows, meta = kb_rows
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d+", meta["version"])
    for row in rows:
        assert EVIDENCE.match(row["evidence"].replace(" ", "")), row["id"]
        assert row["resistance_to"] or row["drug_class"], row["id"]


def test_filled_coordinates_name_their_sources(kb_rows):
    for row in kb_rows[0]:
        for build in ("grch38", "grch37"):
            if row[f"{build}_pos"]:
                assert build.replace("grch", "GRCh") in row["coordinate_sources"], row["id"]


def test_snv_alleles_agree_with_the_cdna_change(kb_rows):
    """Genomic ref/alt equal the c. alleles (plus strand) or their complement (minus strand), in both builds."""
    for row in kb_rows[0]:
        match = re.fullmatch(r"c\.\d+([ACGT])>([ACGT])", row["hgvs_c"])
        if not match:
            continue
        c_alleles = match.group(1) + match.group(2)
        for build in ("grch38", "grch37"):
            if row[f"{build}_pos"]:
                genomic = row[f"{build}_ref"] + row[f"{build}_alt"]
                assert genomic in (c_alleles, c_alleles.translate(COMPLEMENT)), (row["id"], build)


def test_build_offsets_agree_within_a_codon(kb_rows):
    """Two changes of one codon lie within 2 bases, and the GRCh38-GRCh37 offset is shared."""
    by_codon = {}
    for row in kb_rows[0]:
        codon = re.match(r"[A-Z](\d+)", row["protein_change"])
        if codon and row["grch38_pos"] and row["grch37_pos"]:
            offset = int(row["grch38_pos"]) - int(row["grch37_pos"])
            by_codon.setdefault((row["gene"], codon.group(1)), set()).add(offset)
    assert by_codon
    for key, offsets in by_codon.items():
        assert len(offsets) == 1, key


def test_match_by_coordinates_in_each_build_and_by_annotation(kb):
    assert kb.match("GRCh38", "chr7", 55181378, "C", "T") == "EGFR_T790M"
    assert kb.match("GRCh38", "7", 55181378, "C", "T") == "EGFR_T790M"
    assert kb.match("GRCh37", "chr7", 55249071, "C", "T") == "EGFR_T790M"
    assert kb.match("GRCh37", "chr7", 55181378, "C", "T") == ""  # GRCh38 position in a GRCh37 run
    assert kb.match("GRCh38", "chr1", 1, "A", "G", gene="egfr", protein_change="C797S").startswith("EGFR_C797S")
    assert kb.match("GRCh38", "chr1", 1, "A", "G", gene="EGFR", protein_change="L858R") == ""


def test_relevance_is_drug_aware(kb, root):
    drugs = DrugTable(root / "resources" / "drugs.tsv")
    assert kb.is_relevant("EGFR_T790M", ["erlotinib"], drugs)
    assert not kb.is_relevant("EGFR_T790M", ["osimertinib"], drugs)
    assert kb.is_relevant("ABL1_T315I", ["imatinib"], drugs)
    assert not kb.is_relevant("ABL1_T315I", ["ponatinib"], drugs)


def test_drug_table_resolves_synonyms_case_insensitively(root):
    drugs = DrugTable(root / "resources" / "drugs.tsv")
    assert drugs.resolve("TAGRISSO") == "osimertinib"
    assert drugs.resolve(" Erlotinib ") == "erlotinib"
    assert drugs.resolve("unknownib") is None
    assert "BRAF:V600E" in drugs.targets("dabrafenib")
    for drug in drugs.drugs.values():
        assert drug.classes


def test_partly_filled_coordinates_are_rejected(tmp_path):
    header = "\t".join(KB_COLUMNS)
    values = dict.fromkeys(KB_COLUMNS, "")
    values.update(id="X_1", gene="X", protein_change="A1B", evidence="PMID:1", grch38_chrom="chr1", grch38_pos="5")
    path = tmp_path / "kb.tsv"
    path.write_text("# version: 1\n" + header + "\n" + "\t".join(values[c] for c in KB_COLUMNS) + "\n")
    with pytest.raises(InputError, match="row 1, column 'grch38_pos'.*partly filled"):
        KnowledgeBase(path)


# --- knowledge base v2: coverage, evidence per drug, placement ------------------------------------------------

# (gene, protein-change pattern, drug given) for each drug setting the knowledge base must cover: at least one
# row of the gene matching the pattern must be relevant (raise alerts) under that drug.
SETTINGS = [
    ("EGFR", r"T790M", "erlotinib"), ("EGFR", r"C797S", "osimertinib"), ("EGFR", r"L718[QV]", "osimertinib"),
    ("EGFR", r"S492R", "cetuximab"), ("KRAS", r"(G12|G13|Q61|A146)", "panitumumab"),
    ("NRAS", r"(G12|G13|Q61)", "cetuximab"), ("BRAF", r"V600E", "cetuximab"), ("MAP2K1", r".", "vemurafenib"),
    ("NRAS", r"Q61", "vemurafenib"), ("MAP2K2", r".", "dabrafenib"), ("KRAS", r"(Y96|R68|H95)", "sotorasib"),
    ("KRAS", r"(Y96|R68|H95)", "adagrasib"), ("ALK", r"G1202R", "alectinib"), ("ALK", r"L1196M", "crizotinib"),
    ("ROS1", r"G2032R", "crizotinib"), ("RET", r"G810", "selpercatinib"), ("NTRK1", r"G595R", "larotrectinib"),
    ("FGFR2", r"(V564|N549)", "futibatinib"), ("FLT3", r"F691L", "gilteritinib"), ("FLT3", r"D835", "quizartinib"),
    ("ESR1", r"(D538|Y537)", "exemestane"), ("AR", r"(T878|L702)", "abiraterone"), ("AR", r"F877L", "enzalutamide"),
    ("BTK", r"C481", "ibrutinib"), ("PLCG2", r".", "ibrutinib"), ("ABL1", r"T315I", "imatinib"),
    ("KIT", r".", "imatinib"), ("PDGFRA", r"D842V", "imatinib"),
]  # fmt: skip


@pytest.fixture(scope="module")
def drug_table(root):
    return DrugTable(root / "resources" / "drugs.tsv")


def test_coverage_rows_and_genes(kb_rows):
    rows, _ = kb_rows
    assert len(rows) >= 150
    assert len({row["gene"] for row in rows}) >= 20


@pytest.mark.parametrize("gene, pattern, drug", SETTINGS)
def test_every_drug_setting_is_covered(kb, drug_table, gene, pattern, drug):
    hits = [i for i, e in kb.entries.items() if e.gene == gene and re.match(pattern, e.protein_change)]
    assert hits, f"no {gene} {pattern} row"
    assert any(kb.is_relevant(i, [drug], drug_table) for i in hits), f"no {gene} {pattern} row raises under {drug}"


def test_a_drugs_own_target_is_never_a_resistance_row_for_it(kb, drug_table):
    for kb_id, entry in kb.entries.items():
        own = f"{entry.gene}:{entry.protein_change}"
        for drug, info in drug_table.drugs.items():
            if own in info.targets:
                assert not kb.is_relevant(kb_id, [drug], drug_table), (kb_id, drug)


def test_every_listed_drug_has_its_evidence_item(kb_rows, drug_table):
    """drug_evidence says, per drug (per class for class-level rows), where the cited source names it; what it
    cites is in `evidence`."""
    for row in kb_rows[0]:
        drugs = [d for d in (row["resistance_to"] or row["drug_class"]).split(",") if d]
        items = drug_evidence_items(row["drug_evidence"], drugs)
        assert set(items) == set(drugs), (row["id"], sorted(set(drugs) - set(items)))
        cited = {c for text in items.values() for c in re.findall(r"(?:PMID:\d+|CIViC:EID\d+)", text)}
        listed = set(row["evidence"].split(";"))
        assert cited <= listed, (row["id"], sorted(cited - listed))
        assert cited, (row["id"], "drug_evidence cites no PMID or CIViC EID")


def test_every_row_is_placed_on_both_builds_or_says_why(kb_rows):
    for row in kb_rows[0]:
        placed = [row[f"{build}_pos"] != "" for build in ("grch38", "grch37")]
        if all(placed):
            for build in ("GRCh38", "GRCh37"):
                assert f"{build}:" in row["coordinate_sources"], row["id"]
        else:
            assert "[placement]" in row["note"], (row["id"], "unplaced without a reason")


def test_annotation_matching_still_works_for_every_row(kb):
    """A VEP/SnpEff-annotated call (gene + protein change) finds a row even at an unknown position."""
    for entry in kb.entries.values():
        hit = kb.match("GRCh38", "chr1", 1, "A", "G", gene=entry.gene, protein_change=entry.protein_change)
        assert kb.entries[hit].protein_change == entry.protein_change

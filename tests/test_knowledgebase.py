"""The knowledge base and drug table: provenance on every row, self-consistent coordinates, matching."""

import re

import pytest

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

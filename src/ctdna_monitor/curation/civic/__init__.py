"""Candidate knowledge-base rows from a CIViC release, written to a review table (research use only).

`ctdna-monitor-kb import-civic EVIDENCE.tsv VARIANTS.tsv --out REVIEW.tsv` reads CIViC's
ClinicalEvidenceSummaries and VariantSummaries, keeps accepted predictive evidence that supports
resistance, for single variants with coordinates, groups it per variant and drug and compares it with
the existing knowledge base. It never writes the knowledge base: a curator reviews the table.

CIViC header generations (column names as CIViC writes them; read on 2026-11-27):
- current (CIViC v2, molecular profiles), evidence: molecular_profile, molecular_profile_id, disease,
  doid, phenotypes, therapies, therapy_interaction_type, evidence_type, evidence_direction,
  evidence_level, significance, evidence_statement, citation_id, source_type, asco_abstract_id,
  citation, nct_ids, rating, evidence_status, evidence_id, variant_origin, last_review_date,
  evidence_civic_url, molecular_profile_civic_url, is_flagged. Variants: variant_id, variant_civic_url,
  feature_type, feature_id, feature_name, feature_civic_url, variant, variant_aliases, is_flagged,
  variant_groups, variant_types, single_variant_molecular_profile_id, last_review_date, gene, entrez_id,
  chromosome, start, stop, reference_bases, variant_bases, representative_transcript, ensembl_version,
  reference_build, hgvs_descriptions, allele_registry_id, clinvar_ids, then factor/fusion/region columns.
  Source: the exporter itself, griffithlab/civic-v2 server/app/tsv_formatters/evidence_item_tsv_formatter.rb
  and variant_tsv_formatter.rb at commit d289c78f3a0a7d2e33dfddb34fcbe56853b9f286; the same evidence
  header is listed by a third-party parser, opencb/biodata biodata-formats/.../civic/CivicParser.java
  (commit 6efe1d00eb5359b10d88af51335cbfa97d802a7a).
- pre-2023 (CIViC v1, variants), evidence: gene, entrez_id, variant, disease, doid, phenotypes, drugs,
  drug_interaction_type, evidence_type, evidence_direction, evidence_level, clinical_significance,
  evidence_statement, citation_id, source_type, asco_abstract_id, citation, nct_ids, rating,
  evidence_status, evidence_id, variant_id, gene_id, chromosome, start, stop, reference_bases,
  variant_bases, ..., reference_build, ... evidence_civic_url, variant_civic_url, gene_civic_url
  [, is_flagged]. Variants: variant_id, variant_civic_url, gene, entrez_id, variant, summary,
  variant_groups, chromosome, start, stop, reference_bases, variant_bases, representative_transcript,
  ensembl_version, reference_build, chromosome2, start2, stop2, representative_transcript2,
  variant_types, hgvs_expressions, ..., assertion_ids, assertion_civic_urls [, is_flagged].
  Source: the release files griffithlab/civic-server public/downloads/nightly/nightly-*.tsv (commit
  3f50f4de6715c2a5db5068207423f9fdcbcb81bc, files of 2021-02-25) and the civic-v2 exporter at
  d74202acc0a23d2c584ca4dcd66f8c3a87fb5561 (2022-04-27, adds is_flagged).
- Releases between 2022-08 and 2022-12 mix both (molecular_profile columns, still drugs and
  clinical_significance: civic-v2 3b6a745c5, renamed in b999c90dd), and VariantSummaries gained
  single_variant_molecular_profile_id only in 2023-09 (civic-v2 9e96acd37). Columns are therefore looked
  up by alias, and a molecular profile is matched by name ("GENE VARIANT") when that column is absent.
"""

from __future__ import annotations

import argparse
import sys

from ...errors import CtdnaError
from .review import import_civic
from .tables import EVIDENCE_ALIASES, columns, read_civic_tsv

__all__ = ["EVIDENCE_ALIASES", "columns", "import_civic", "main", "read_civic_tsv", "register", "run"]


def register(subparsers):
    """Add `import-civic` to the `ctdna-monitor-kb` sub-parsers (src/ctdna_monitor/curation/cli.py)."""
    parser = subparsers.add_parser(
        "import-civic",
        help="candidate resistance rows from a CIViC release into a review table",
        description="Read CIViC ClinicalEvidenceSummaries and VariantSummaries (current or pre-2023 header) and "
        "write accepted predictive resistance evidence, grouped per variant and drug, to a review table. "
        "Never writes the knowledge base. Research use only.",
    )
    parser.add_argument("evidence", metavar="EVIDENCE.tsv", help="CIViC ClinicalEvidenceSummaries TSV")
    parser.add_argument("variants", metavar="VARIANTS.tsv", help="CIViC VariantSummaries TSV")
    parser.add_argument("--out", required=True, metavar="REVIEW.tsv", help="review table to write")
    parser.add_argument("--chain", metavar="PATH", help="UCSC hg19ToHg38.over.chain.gz for the GRCh38 columns")
    parser.add_argument("--existing", metavar="PATH", help="knowledge base to compare with "
                        "(resources/resistance_mutations.tsv)")
    parser.add_argument("--drugs", default="resources/drugs.tsv", metavar="PATH",
                        help="drug table mapping CIViC therapy names (default: %(default)s)")
    parser.add_argument("--skipped", metavar="PATH", help="also write the skipped evidence rows and why")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    try:
        summary = import_civic(args.evidence, args.variants, args.out, chain=args.chain, existing=args.existing,
                               drugs=args.drugs, skipped=args.skipped)
    except CtdnaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the --out folder does not exist
        print(f"error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"import-civic: {summary}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    """Standalone entry (`python -m ctdna_monitor.curation.civic import-civic ...`) until cli.py is merged."""
    parser = argparse.ArgumentParser(prog="ctdna-monitor-kb", description="Knowledge-base curation tools.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("import-civic", "-h", "--help"):
        argv.insert(0, "import-civic")  # standalone, the sub-command name may be left out
    args = parser.parse_args(argv)
    return args.func(args)



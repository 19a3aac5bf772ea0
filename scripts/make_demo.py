"""Regenerate the embedded demo cohort under resources/demo/ (deterministic: same files every run).

Usage: python scripts/make_demo.py [--out resources/demo] [--seed N]
"""

import argparse
from pathlib import Path

from ctdna_monitor.demo import SEED, make_demo

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=ROOT / "resources" / "demo", type=Path)
    parser.add_argument("--seed", default=SEED, type=int)
    parser.add_argument("--knowledgebase", default=ROOT / "resources" / "resistance_mutations.tsv", type=Path)
    parser.add_argument("--truncal", default=ROOT / "resources" / "demo" / "truncal_variants.tsv", type=Path)
    args = parser.parse_args()
    print(make_demo(args.out, args.knowledgebase, args.truncal, args.seed))

"""Large simulated cohorts for the scale benchmark: `--draws` draws, `--draws-per-patient` each, panel-sized VCFs.

Reuses `ctdna_monitor.simulate` (kinetics, scenarios, dialects, noise, VCF writers); two changes make
the cohort a monitoring cohort at scale:
- every patient has exactly `--draws-per-patient` draws (monitoring goes on after progression: draws are
  added every 35 days after the simulator's last one);
- every draw covers a panel: the patient's simulated sites plus `--panel-sites` shared panel sites that
  carry no variant, only sequencing error (each with its own error rate), so force-called VCFs have
  about panel-size records and sparse ones the sites with at least one alt read.

    python benchmarks/scale/generate.py out/cohort-10000 --draws 10000
Deterministic for a given seed. Research use only.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from ctdna_monitor import simulate

REPO = Path(__file__).resolve().parents[2]
KB = REPO / "resources" / "resistance_mutations.tsv"
TRUNCAL = REPO / "resources" / "demo" / "truncal_variants.tsv"
PANEL_GAP_DAYS = 35


def panel_sites(rng, count: int) -> list[simulate.Site]:
    """`count` synthetic SNVs spread over chr1-chr20 (gene labels PANEL1..), none at a knowledge-base site."""
    sites = []
    for index in range(count):
        ref = "ACGT"[int(rng.integers(0, 4))]
        alt = [b for b in "ACGT" if b != ref][int(rng.integers(0, 3))]
        chrom = f"chr{1 + index % 20}"
        sites.append(simulate.Site(chrom, 150_000_000 + 1_009 * index, ref, alt, f"PANEL{index + 1}"))
    return sites


def generate(out_dir, draws: int, draws_per_patient: int = 10, panel: int = 60, seed: int = 1) -> Path:
    out_dir = Path(out_dir)
    (out_dir / "vcf").mkdir(parents=True, exist_ok=True)
    n_patients = math.ceil(draws / draws_per_patient)
    rng, patients, rates = simulate.build_cohort(n_patients, seed, KB, TRUNCAL)
    extra_rng = np.random.default_rng([seed, 2])  # a separate stream: the simulator's own draws are unchanged
    shared = panel_sites(extra_rng, panel)
    for site in shared:
        rates[site.key] = simulate._error_rate(extra_rng)
    remaining = draws
    rows, events, truth = [], [], []
    for patient in patients:
        days = list(patient.draw_days)
        while len(days) < draws_per_patient:
            days.append(days[-1] + PANEL_GAP_DAYS)
        patient.draw_days = days[: min(draws_per_patient, remaining)]
        patient.background_sites = shared
        remaining -= len(patient.draw_days)
        rows += simulate.write_patient(rng, patient, out_dir, rates)
        events += simulate.event_rows(patient)
        truth.append(simulate.truth_row(patient))
    simulate._write_tsv(out_dir / "samples.tsv", ["patient", "sample", "date", "vcf", "vcf_sample"], rows)
    simulate._write_tsv(out_dir / "events.tsv", ["patient", "date", "event", "value"], events)
    simulate._write_tsv(out_dir / "truth.tsv", simulate.TRUTH_COLUMNS, truth)
    return out_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--draws", type=int, required=True)
    parser.add_argument("--draws-per-patient", type=int, default=10)
    parser.add_argument("--panel-sites", type=int, default=60, help="shared variant-free panel sites per draw")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    out = generate(args.out_dir, args.draws, args.draws_per_patient, args.panel_sites, args.seed)
    print(out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A sheet of many draws with small real VCFs, for timing the workflow's dry run (DAG build) at 1,000,000 draws.

Generating a million panel-sized VCFs (generate.py) would take hours and ~20 GB; the graph Snakemake builds
depends only on the sheet and on the files existing. So each draw gets its own small VCF: three records of
one of the scale cohort's VCFs (Mutect2 dialect), with the draw's own sample name, so every file is distinct
(the pre-flight check refuses two rows naming one file). 10 draws per patient, dates 35 days apart.

    python benchmarks/scale/dag_cohort.py OUT --draws 1000000
Research use only.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

HEADER = [
    "##fileformat=VCFv4.2",
    '##FILTER=<ID=PASS,Description="All filters passed">',
    "##source=Mutect2",
    *(f"##contig=<ID=chr{name}>" for name in [*range(1, 23), "X", "Y"]),
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
]
RECORDS = [
    "chr1\t150000000\t.\tG\tC\t.\tPASS\t.\tGT:AD:DP\t0/0:800,0:800\t0/1:3395,2:3397",
    "chr1\t150020180\t.\tA\tG\t.\tPASS\t.\tGT:AD:DP\t0/0:800,0:800\t0/1:2845,0:2845",
    "chr7\t55181378\t.\tC\tT\t.\tPASS\t.\tGT:AD:DP\t0/0:800,0:800\t0/1:3001,1:3002",
]


def dag_cohort(out: Path, draws: int, per_patient: int = 10) -> Path:
    """Write OUT/samples.tsv and OUT/vcf/<draw>.vcf (files already there are kept); returns the sheet."""
    folder = Path(out) / "vcf"
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["patient\tsample\tdate\tvcf\tvcf_sample"]
    start = dt.date(2024, 1, 1)
    for index in range(draws):
        patient, draw = divmod(index, per_patient)
        pid = f"DAG-P{patient:07d}"
        sample = f"{pid}-D{draw + 1:02d}"
        path = folder / f"{sample}.vcf"
        if not path.exists():
            columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\t" + sample
            path.write_text("\n".join([*HEADER, f"##tumor_sample={sample}", columns, *RECORDS]) + "\n")
        date = start + dt.timedelta(days=35 * draw + patient % 28)
        rows.append(f"{pid}\t{sample}\t{date.isoformat()}\tvcf/{sample}.vcf\t")
    sheet = Path(out) / "samples.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    return sheet


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--draws", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    print(dag_cohort(args.out, args.draws))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

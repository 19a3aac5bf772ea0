#!/usr/bin/env bash
# One cohort run locally (--cores 2) and through profiles/slurm on the test cluster (scripts/slurm_cluster.sh),
# then the outputs compared (tests/run_outputs.py: result tables and ingestion tables byte for byte, the report
# up to its run date; patient pages up to dates). Research use only.
#
#   benchmarks/scale/run_slurm.sh COHORT OUT     # COHORT: a generate.py folder (samples.tsv, events.tsv, vcf/)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
COHORT=$(cd "$1" && pwd)
OUT=$2
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
for run in local slurm; do
  rm -rf "${OUT:?}/$run" && mkdir -p "$OUT/$run"
  for part in Snakefile config workflow scripts resources profiles; do cp -a "$REPO/$part" "$OUT/$run/"; done
done
CONFIG=(--config "samples=$COHORT/samples.tsv" "events=$COHORT/events.tsv")
start=$(date +%s)
(cd "$OUT/local" && python3 -m snakemake --cores 2 "${CONFIG[@]}" > "$OUT/local.log" 2>&1)
echo "local: $(($(date +%s) - start)) s"
was_up=yes
bash "$REPO/scripts/slurm_cluster.sh" status > /dev/null 2>&1 || { was_up=no; bash "$REPO/scripts/slurm_cluster.sh" up > "$OUT/cluster_up.log" 2>&1; }
eval "$(bash "$REPO/scripts/slurm_cluster.sh" env)"
since=$(date +%Y-%m-%dT%H:%M:%S)
start=$(date +%s)
status=0
(cd "$OUT/slurm" && timeout -s INT -k 30 7200 python3 -m snakemake --workflow-profile profiles/slurm \
  --slurm-init-seconds-before-status-checks 2 "${CONFIG[@]}" > "$OUT/slurm.log" 2>&1) || status=$?
echo "slurm: $(($(date +%s) - start)) s, exit status $status"
sacct -X -n -P -S "$since" -o jobid,state,elapsed,reqmem,workdir | grep "|$OUT/slurm$" > "$OUT/sacct.tsv" || true
echo "allocations: $(wc -l < "$OUT/sacct.tsv"), states: $(cut -d'|' -f2 "$OUT/sacct.tsv" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
[ "$was_up" = yes ] || bash "$REPO/scripts/slurm_cluster.sh" down > /dev/null 2>&1
cd "$OUT"
PYTHONPATH="$REPO/tests" python3 -c "
from pathlib import Path
from run_outputs import output_differences
print('differing outputs:', output_differences(Path('local'), Path('slurm')) or 'none')"
pages=0; differ=0
for page in local/results/patients/*.html; do
  pages=$((pages + 1))
  cmp -s <(sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T?[0-9:]*//g' "$page") \
         <(sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T?[0-9:]*//g' "slurm/results/patients/$(basename "$page")") || differ=$((differ + 1))
done
echo "patient pages: $pages, differing apart from dates: $differ"
[ "$status" = 0 ]

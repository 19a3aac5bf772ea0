# Cohort-level steps (build_timeline, call_alerts, render_report) share the group "cohort": on a cluster
# they run one after another in one submission instead of waiting three times in the queue.
rule build_timeline:
    input:
        calls=get_ingested(),
        genotypes=get_genotyped(),
        samples=samples_sheet,
        knowledgebase=config["knowledgebase"],
        background_inputs=get_background_inputs(),
    output:
        timeline="results/timeline.tsv",
        background="results/background.tsv",
        negatives="results/negatives.tsv",
    log:
        "logs/timeline/build_timeline.log",
    group:
        "cohort"
    conda:
        "../envs/ctdna.yaml"
    # After the background fit, parts of patients are built side by side by forked workers
    # (src/ctdna_monitor/partition.py); Snakemake gives at most --cores (1 in the SLURM profile's groups).
    # The process tree grows with the workers: at 100,000 draws see benchmarks/scale/README.md.
    threads: 4
    resources:
        mem_mb=get_mem_mb(1500, 15),
        runtime=get_runtime(10, 0.5),
    params:
        genome_build=config["genome_build"],
        detection=config.get("detection", {}),
        background=config.get("background", {}),
        chip_genes=config.get("guards", {}).get("chip_genes", []),
        negatives=config.get("negatives", {}),
        filters=config.get("filters", {}),
    script:
        "../../scripts/build_timeline.py"

# One job per patient reads all of that patient's draws: a cohort of thousands of
# draws makes as many jobs as patients, not as draws. On a cluster, the "patients" group
# (with genotype_patient) lets --group-components bundle many patients into one submission
# (profiles/slurm); local runs ignore groups.
rule ingest_patient:
    input:
        vcfs=get_patient_vcfs,
    output:
        "results/ingest/{patient}.tsv",
    log:
        "logs/ingest/{patient}.log",
    group:
        "patients"
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    resources:
        mem_mb=get_mem_mb(500, 20),
        runtime=get_runtime(2, 1),
    params:
        draws=get_patient_draws,
    script:
        "../../scripts/ingest_patient.py"

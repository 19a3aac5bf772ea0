# One job per patient reads all of that patient's draws: a cohort of thousands of
# draws makes as many jobs as patients, not as draws.
rule ingest_patient:
    input:
        vcfs=get_patient_vcfs,
    output:
        "results/ingest/{patient}.tsv",
    log:
        "logs/ingest/{patient}.log",
    conda:
        "../envs/ctdna.yaml"
    params:
        draws=get_patient_draws,
    script:
        "../../scripts/ingest_patient.py"

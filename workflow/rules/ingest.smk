# One job per batch of patients (see _ingest_batches in common.smk, by a stable hash of the patient ID): a
# cohort of 1,000 patients and 10,000 draws makes 32 ingestion jobs, not 10,000 (one per draw) or 1,000 (one
# per patient), on a laptop and on a cluster alike.
rule ingest_batch:
    input:
        # the batch's draws, each with its VCF's size and modification time (see DRAW_LISTS in common.smk)
        draws=f"{DRAW_LISTS}/batch-{{batch}}.tsv",
    output:
        "results/ingest/batch-{batch}.tsv",
    log:
        "logs/ingest/batch-{batch}.log",
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    resources:
        mem_mb=get_mem_mb(500, 20, sized=get_batch_vcf_mb),
        runtime=get_runtime(5, 1, sized=get_batch_vcf_mb),
    script:
        "../../scripts/ingest_batch.py"

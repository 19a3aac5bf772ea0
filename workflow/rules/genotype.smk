# Re-genotype every tracked site of a patient in each draw's BAM/CRAM (patients with a bam column).
# On a cluster, --group-components genotype=N (profiles/slurm) submits N patients per job.
rule genotype_patient:
    input:
        calls=get_patient_calls,
        bams=get_patient_bams,
        samples=samples_sheet,
        events=events_file,
        knowledgebase=config["knowledgebase"],
        drugs=config["drugs"],
    output:
        "results/genotype/{patient}.tsv",
    log:
        "logs/genotype/{patient}.log",
    group:
        "genotype"
    conda:
        "../envs/ctdna.yaml"
    threads: 1
    resources:
        mem_mb=get_mem_mb(1000, 0.05, sized=get_patient_bams),
        runtime=get_runtime(10, 0.02, sized=get_patient_bams),
    params:
        draws=get_patient_bam_draws,
        genome_build=config["genome_build"],
        genotyping=config.get("genotyping", {}),
        reference=config.get("reference", ""),
    script:
        "../../scripts/genotype_patient.py"

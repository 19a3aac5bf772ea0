rule ingest_vcf:
    input:
        vcf=get_vcf,
    output:
        "results/ingest/{patient}/{sample}.tsv",
    params:
        vcf_sample=get_vcf_sample,
    log:
        "logs/ingest/{patient}/{sample}.log",
    conda:
        "../envs/ctdna.yaml"
    script:
        "../../scripts/ingest_vcf.py"

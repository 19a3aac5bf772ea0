rule ingest_vcf:
    input:
        vcf=get_vcf,
    output:
        "results/ingest/{patient}/{sample}.tsv",
    log:
        "logs/ingest/{patient}/{sample}.log",
    conda:
        "../envs/ctdna.yaml"
    params:
        vcf_sample=get_vcf_sample,
    script:
        "../../scripts/ingest_vcf.py"

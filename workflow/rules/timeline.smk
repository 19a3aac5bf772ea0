rule build_timeline:
    input:
        calls=get_ingested(),
        genotypes=get_genotyped(),
        samples=config["samples"],
        knowledgebase=config["knowledgebase"],
        background_inputs=get_background_inputs(),
    output:
        timeline="results/timeline.tsv",
        background="results/background.tsv",
    log:
        "logs/timeline/build_timeline.log",
    conda:
        "../envs/ctdna.yaml"
    params:
        genome_build=config["genome_build"],
        detection=config.get("detection", {}),
        background=config.get("background", {}),
        chip_genes=config.get("guards", {}).get("chip_genes", []),
    script:
        "../../scripts/build_timeline.py"

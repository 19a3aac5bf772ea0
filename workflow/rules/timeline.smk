rule build_timeline:
    input:
        calls=get_ingested(),
        samples=config["samples"],
        knowledgebase=config["knowledgebase"],
    output:
        "results/timeline.tsv",
    log:
        "logs/timeline/build_timeline.log",
    conda:
        "../envs/ctdna.yaml"
    params:
        genome_build=config["genome_build"],
        detection=config.get("detection", {}),
    script:
        "../../scripts/build_timeline.py"

"""Primary-chromosome lengths of the two supported human builds, to catch a BAM/CRAM of the wrong build.

Values: UCSC chromInfo for hg19 and hg38 (hgdownload.soe.ucsc.edu/goldenPath/{hg19,hg38}/database/
chromInfo.txt.gz); they agree with the .fai of the GRCh38 no-alt analysis set and of hs37d5 (GRCh37).
chrM is left out: its length differs between hg19 (16,571) and the rCRS used elsewhere (16,569).
"""

from __future__ import annotations

CHROMOSOME_LENGTHS = {
    "GRCh38": {
        "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555, "chr5": 181538259,
        "chr6": 170805979, "chr7": 159345973, "chr8": 145138636, "chr9": 138394717, "chr10": 133797422,
        "chr11": 135086622, "chr12": 133275309, "chr13": 114364328, "chr14": 107043718, "chr15": 101991189,
        "chr16": 90338345, "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
        "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
    },
    "GRCh37": {
        "chr1": 249250621, "chr2": 243199373, "chr3": 198022430, "chr4": 191154276, "chr5": 180915260,
        "chr6": 171115067, "chr7": 159138663, "chr8": 146364022, "chr9": 141213431, "chr10": 135534747,
        "chr11": 135006516, "chr12": 133851895, "chr13": 115169878, "chr14": 107349540, "chr15": 102531392,
        "chr16": 90354753, "chr17": 81195210, "chr18": 78077248, "chr19": 59128983, "chr20": 63025520,
        "chr21": 48129895, "chr22": 51304566, "chrX": 155270560, "chrY": 59373566,
    },
}  # fmt: skip


def build_of(lengths: dict[str, int]) -> str | None:
    """The build whose lengths the given primary chromosomes (canonical 'chrN' names) have, if any."""
    for build, expected in CHROMOSOME_LENGTHS.items():
        shared = [name for name in lengths if name in expected]
        if shared and all(lengths[name] == expected[name] for name in shared):
            return build
    return None


def check_build(lengths: dict[str, int], build: str) -> str | None:
    """A message when the contig lengths belong to a build other than `build`, else None.

    Contigs of unknown length (panels, synthetic references) are not judged."""
    found = build_of(lengths)
    if found and build in CHROMOSOME_LENGTHS and found != build:
        return f"its contig lengths are those of {found}, but genome_build is {build}"
    return None

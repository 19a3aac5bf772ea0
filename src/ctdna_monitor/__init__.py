"""ctdna-monitor: longitudinal ctDNA variant monitoring (research use only).

The science lives here; the Snakemake rules only call into this package.
This package never imports snakemake.
"""

__version__ = "0.1.0"

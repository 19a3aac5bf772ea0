"""Background sequencing error per site and substitution, learnt only from observations that are noise.

Sources, in order of preference for a site:
1. a panel of normals: a precomputed `chrom pos ref alt error_rate [dispersion] [sample]` table (a
   row with a `sample` gives that draw's error, e.g. from an oracle that knows it), or the counts
   of normal-plasma VCFs at the site;
2. the cohort itself: the same site in other patients' draws (never the patient's own), from
   patients whose VCFs genotype sites (force-called or gVCF: they contain records with 0 alt
   reads) or whose BAMs were counted. A sparse VCF lists a site only when it has alt reads, which
   would overstate the error, so it is never used;
3. the substitution class (C>T, C>A, ..., indel) over the cohort's sites, else a documented default.

Why the cohort cannot learn a variant as noise (issue 11): several patients may carry the same
variant (a truncal hotspot, a germline polymorphism, CHIP), and sometimes only the carriers report
the site at all. So:
- a site's error can never exceed a physical ceiling (`max_error`, 2 % for SNVs: raw NGS errs at
  about 1e-3..1e-2 per base, so an 'error' of several percent is a variant; twice the noisiest
  positions' rate, as a position erring at 1 % errs more in a raised draw);
- a draw whose counts are significant (p < carrier_p) against the larger of the ceiling and the
  site's current error makes its patient a *carrier* at that site, and a carrier's draws are left out
  of the site's background, all but its quiet start: its draws before the first one that the class's
  typical rate does not explain (p < QUIET_P). A patient who acquires a variant under therapy was read
  at the site before it; where every patient carries a hotspot those draws are the only noise data.
  A patient whose draws are each unremarkable but whose pooled counts are significant is a carrier
  too (a stable low-level variant);
- a site starts from the median of its patients' rates (each patient one vote, robust to a
  minority of carriers), and is re-judged against its own noise-only estimate a few rounds, so a
  site whose patients are mostly carriers falls back to its noise patients or to the class rate;
- with noise data from a single patient, a site's rate is at most `hotspot_fold` times its class
  rate: one patient cannot make a position a noisy hotspot;
- a site with carriers in `recurrent_min_patients` or more patients is reported as a recurrent
  variant (results/background.tsv, the timeline's `background_flag`, the report's background QC).

Draw-level noise: a library or run problem raises the error at every site of a draw (bursts, batch
effects between runs). Where a draw has at least `min_sites_for_draw_factor` other panel sites, its
error factor is their observed/expected errors (from the draw's median site, sites beyond HUBER_C sd
left out, so the draw's own variants do not count), shrunk towards 1 with `draw_prior_errors`
expected errors. It applies only when the excess is significant (RAISED_Z) and never lowers a null.
The site under test is left out of its own draw's factor, so a variant cannot raise its own null.
Site rates are reported for the typical draw (the mean factor of the lower 90 % of draws).
A burst draw (many sites spiking in it alone, draws.py) is judged against its largest spike and is
no noise data for anything else (site rates, overdispersion, nearby dates, own past, carriers).

Time: where the other patients' noise draws within `local_window_days` of a draw show significantly
more errors at a site than its overall rate (a drifting site error, a bad run), that local rate is
used for the draw (only ever raising it).

Overdispersion (beta-binomial rho) is fitted on noise draws only: per site by the method of
moments against each draw's expected error, shrunk towards the class median with a weight of
`dispersion_prior_draws` draws, and bounded by `max_dispersion`.
"""

from .common import (
    BACKGROUND_COLUMNS,
    RECURRENT,
    SITE,
    BackgroundParams,
    Null,
    substitution,
    tail_p,
)  # fmt: skip
from .model import BackgroundModel
from .observations import counted, genotyping_samples, sparse_observations

__all__ = [
    "BACKGROUND_COLUMNS", "RECURRENT", "SITE", "BackgroundModel", "BackgroundParams", "Null", "counted",
    "genotyping_samples", "sparse_observations", "substitution", "tail_p",
]

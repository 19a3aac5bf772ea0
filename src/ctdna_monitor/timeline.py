"""Per-patient VAF timelines: every variant seen in any draw, at every draw of that patient."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .background import BackgroundModel, BackgroundParams, genotyping_samples, sparse_observations
from .filters import FilterPolicy
from .stats import DETECTED, NOT_ASSESSABLE, NOT_DETECTED, classify_many, null_sf_many
from .values import to_text

# Genes whose variants in plasma often come from clonal haematopoiesis (CHIP), not the tumour.
DEFAULT_CHIP_GENES = ("DNMT3A", "TET2", "ASXL1", "PPM1D", "JAK2", "SF3B1", "SRSF2", "CBL", "GNB1", "GNAS", "CHEK2")

TIMELINE_COLUMNS = [
    "patient", "sample", "date", "chrom", "pos", "ref", "alt", "gene", "protein_change",
    "alt_reads", "depth", "vaf", "status", "p_value", "lod", "kb_id",
    "filter", "dialect", "flag", "source", "guard", "error_rate", "dispersion", "background_source",
    "background_flag",
]  # fmt: skip
KEY = ["chrom", "pos", "ref", "alt"]
CALL_TABLE_COLUMNS = [*KEY, "gene", "protein_change", "alt_reads", "depth", "vaf", "filter", "dialect", "flag", "source"]


def shows_allele(calls: pd.DataFrame) -> pd.Series:
    """A record that shows the variant: alt reads, or a VAF where counts are not given."""
    alt = pd.to_numeric(calls["alt_reads"], errors="coerce")
    vaf = pd.to_numeric(calls["vaf"], errors="coerce")
    return (alt > 0) | (alt.isna() & (vaf > 0))


def _timeline(draws, calls, kb, build, params, background, chip_genes, negatives="informative", filters=None, cohort=None):
    """Timeline rows of the patients of `draws`: every variant a patient's VCFs show, and the negative
    sites worth listing (listed_variants), at each of its draws. `cohort`: the CohortSites of the whole
    cohort when `draws` are those of some of its patients (default: of `draws` and `calls`).

    Rows are ordered by patient, variant (chrom, pos, ref, alt) and draw (date, sample). Statistics
    are computed for all rows at once (stats.classify_many).
    """
    draws = _ordered_draws(draws)
    table = _call_table(draws, calls)
    # The variants of each patient: alleles shown in any draw, and the negatives worth listing.
    variants = listed_variants(table, kb, build, negatives, background, params, cohort)
    if variants.empty:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    annotated = _annotations(table.merge(variants, on=["patient", *KEY]))
    variants = variants.merge(annotated, on=["patient", *KEY], how="left").fillna({"gene": "", "protein_change": ""})
    chip = {g.upper() for g in chip_genes}
    variant_info = []
    # Panel sites repeat across patients: one knowledge-base match per (site, gene, protein change) and one
    # background flag per site. Columns as object arrays: a pandas string column hands out values slowly.
    kb_ids, flags = {}, {}
    columns = (variants[column].to_numpy(dtype=object) for column in ("patient", *KEY, "gene", "protein_change"))
    for patient, chrom, pos, ref, alt, gene, protein in zip(*columns):
        key = (chrom, pos, ref, alt)
        if (key, gene, protein) not in kb_ids:
            kb_ids[(key, gene, protein)] = kb.match(build, *key, gene=gene, protein_change=protein)
        kb_id = kb_ids[(key, gene, protein)]
        if kb_id and not (gene and protein):
            gene, protein = kb.entries[kb_id].gene, kb.entries[kb_id].protein_change
        null = background.null(key, patient)
        guard = "chip_gene" if gene and gene.upper() in chip else ""
        if key not in flags:
            flags[key] = background.flag(key)
        variant_info.append((gene, protein, kb_id, null.error_rate, null.dispersion, null.source, guard, flags[key]))
    info = pd.DataFrame(variant_info, columns=["gene", "protein_change", "kb_id", "error_rate", "dispersion",
                                               "background_source", "guard", "background_flag"])  # fmt: skip
    variants = pd.concat([variants[["patient", *KEY]], info], axis=1).assign(_variant=range(len(variants)))

    # Every variant at every draw of its patient; the draw's call where its VCF has one.
    grid = variants.merge(draws, on="patient")
    call_columns = ["sample", *KEY, "alt_reads", "depth", "vaf", "filter", "dialect", "flag", "source"]
    grid = grid.merge(table[call_columns], on=["sample", *KEY], how="left", indicator=True)
    present = (grid.pop("_merge") == "both").to_numpy()
    # The draw's own error: its draw factor (bursts, run batches), or its row of a per-draw table.
    # (object arrays: per_draw walks them value by value, which pandas string columns make slow)
    text = {column: grid[column].to_numpy(dtype=object) for column in ("sample", "background_source", "patient", "date")}
    grid["error_rate"], grid["dispersion"], grid["background_source"] = background.per_draw(
        grid[KEY].itertuples(index=False, name=None), text["sample"], grid["error_rate"].to_numpy(),
        grid["dispersion"].to_numpy(), text["background_source"], text["patient"], text["date"],
    )  # fmt: skip
    status, p_value, lod = classify_many(
        grid["alt_reads"], grid["depth"], grid["vaf"], params, grid["error_rate"], grid["dispersion"]
    )
    # Absent from a sparse VCF: the file says nothing about the depth there.
    grid["status"] = np.where(present, status, NOT_ASSESSABLE)
    grid["p_value"] = np.where(present, p_value, np.nan)
    grid["lod"] = np.where(present, lod, np.nan)
    for column in ("filter", "dialect", "source"):
        grid[column] = grid[column].where(present, "")
    grid["flag"] = grid["flag"].where(present, "absent_from_vcf")
    grid["guard"] = _filter_guards(grid, _guards(grid), filters or FilterPolicy())
    grid = grid.sort_values(["_variant", "_order"], kind="stable")
    return grid[TIMELINE_COLUMNS].reset_index(drop=True)


def _ordered_draws(draws: pd.DataFrame) -> pd.DataFrame:
    """patient, sample, date in timeline order, with `_order` numbering the draws."""
    draws = draws[["patient", "sample", "date"]].sort_values(["patient", "date", "sample"], kind="stable")
    return draws.assign(_order=range(len(draws))).reset_index(drop=True)


def stacked_calls(calls, samples) -> pd.DataFrame:
    """The calls of `samples` in one table with a `sample` column, draw after draw in the order of
    `samples`, each draw's records in file order.

    `calls` is either that table already (any order, other samples allowed: timeline_files reads the
    ingest files into one table, which spares splitting it into thousands of per-draw frames and
    concatenating them again) or a dict sample -> that draw's frame."""
    samples = list(samples)
    if isinstance(calls, pd.DataFrame):
        rank = calls["sample"].map(pd.Series(np.arange(len(samples)), index=samples))
        chosen = rank.notna().to_numpy()
        order = np.argsort(rank.to_numpy()[chosen], kind="stable")  # stable: file order within a draw
        return calls[chosen].iloc[order].reset_index(drop=True)
    frames = [calls[sample] for sample in samples]
    sizes = [len(frame) for frame in frames]
    if not any(sizes):
        return pd.DataFrame(columns=[*CALL_TABLE_COLUMNS, "sample"])
    table = pd.concat([frame for frame in frames if len(frame)], ignore_index=True)
    table = table.drop(columns=["sample"], errors="ignore")
    return table.assign(sample=np.repeat(np.array(samples, dtype=object), sizes))


def _call_table(draws: pd.DataFrame, calls) -> pd.DataFrame:
    """Every call of the draws in one table (patient, sample, `_order`), counts as floats."""
    table = stacked_calls(calls, draws["sample"])
    if table.empty:
        return pd.DataFrame(columns=[*CALL_TABLE_COLUMNS, "patient", "sample", "_order"])
    order_of = pd.Series(draws["_order"].to_numpy(), index=draws["sample"].to_numpy())
    sample = table["sample"]
    table = table.drop(columns=["patient", "sample", "_order"], errors="ignore")
    table = table.assign(sample=sample, _order=sample.map(order_of).to_numpy())
    # A VCF may list the same allele twice (duplicated records); keep the first of each draw.
    table = table.drop_duplicates(subset=["_order", *KEY], keep="first")
    table = table.reset_index(drop=True)
    table["pos"] = table["pos"].astype(int)
    if "source" not in table:
        table["source"] = "vcf"
    table = table.merge(draws[["sample", "patient"]], on="sample", how="left")
    for column in ("alt_reads", "depth", "vaf"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    return table


def _annotations(calls: pd.DataFrame) -> pd.DataFrame:
    """Per (patient, variant): the first gene and the first protein change its calls name, in draw order."""
    ordered = calls.sort_values("_order", kind="stable")
    parts = []
    for column in ("gene", "protein_change"):
        text = _texts(ordered[column])
        named = ordered.assign(**{column: text})[text != ""]
        parts.append(named.groupby(["patient", *KEY], sort=False)[column].first())
    return pd.concat(parts, axis=1).reset_index() if any(len(p) for p in parts) else pd.DataFrame(
        columns=["patient", *KEY, "gene", "protein_change"]
    )


def _texts(values: pd.Series) -> pd.Series:
    """values.map(to_text), to_text called once per distinct value (the calls repeat a few names)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    texts = np.array([to_text(value) for value in distinct], dtype=object)
    return pd.Series(texts[codes], index=values.index, name=values.name)


def _guards(grid: pd.DataFrame) -> pd.Series:
    """The guard of each row's variant: 'chip_gene' (set per variant) or 'germline_like' (see variant_guard)."""
    detected = grid[(grid["status"] == DETECTED) & grid["vaf"].notna()]
    vaf = detected["vaf"].astype(float)
    by_variant = pd.DataFrame(
        {"_variant": detected["_variant"], "mid": vaf.between(0.3, 0.7), "high": vaf >= 0.85}
    ).groupby("_variant")[["mid", "high"]].all()
    germline = set(by_variant.index[by_variant["mid"] | by_variant["high"]])
    like = grid["_variant"].isin(germline) & (grid["guard"] == "")
    return grid["guard"].where(~like, "germline_like")


def _filter_guards(grid: pd.DataFrame, guard: pd.Series, policy: FilterPolicy) -> pd.Series:
    """'filter_<value>' for a variant without another guard whose every detected VCF record carries a
    FILTER value saying it is not tumour DNA (germline, panel of normals, matched normal; filters.py).

    Every record, not any: a caller may call a real tumour variant germline at one high-VAF draw, while a
    germline or panel-of-normals site carries the value at every draw."""
    detected = grid[(grid["status"] == DETECTED) & (grid["source"] == "vcf")]
    if detected.empty:
        return guard
    names = {text: policy.not_tumour_name(text) for text in detected["filter"].unique()}
    named = detected["filter"].map(names)
    variant = detected["_variant"]
    # per variant: the name of its first detected record when every one of them names one, else ""
    every = (named != "").groupby(variant).all()
    first = pd.Series(named[~variant.duplicated()].to_numpy(), index=variant[~variant.duplicated()].to_numpy())
    first = first.reindex(every.index).where(every, "")
    per_row = grid["_variant"].map(first).fillna("")
    return guard.where((guard != "") | (per_row == ""), "filter_" + per_row)


def variant_guard(rows: list[dict], gene: str, chip_genes) -> str:
    """'chip_gene' or 'germline_like' for variants that do not measure the tumour, else ''.

    Germline-like: every detected draw sits near 50% or every one near 100%.
    """
    if gene and gene.upper() in {g.upper() for g in chip_genes}:
        return "chip_gene"
    vafs = [r["vaf"] for r in rows if r["status"] == DETECTED and r["vaf"] is not None]
    if vafs and (all(0.3 <= v <= 0.7 for v in vafs) or all(v >= 0.85 for v in vafs)):
        return "germline_like"
    return ""




def with_bam_counts(calls: pd.DataFrame, bam_counts: pd.DataFrame | None) -> pd.DataFrame:
    """The VCF calls of every draw (one table with a `sample` column, source 'vcf') plus the BAM counts
    at sites a draw's VCF is silent about (source 'bam'); stacked_calls puts a draw's BAM rows after
    its VCF rows."""
    calls = calls.assign(source="vcf")
    if bam_counts is None or bam_counts.empty:
        return calls
    bam = bam_counts.assign(pos=bam_counts["pos"].astype(int))
    present = calls[["sample", *KEY]].assign(pos=calls["pos"].astype(int)).drop_duplicates()
    bam = bam.merge(present, on=["sample", *KEY], how="left", indicator=True)
    extra = bam[(bam.pop("_merge") == "left_only").to_numpy()]
    if extra.empty:
        return calls
    extra = extra.assign(gene="", protein_change="", filter="", dialect="bam", flag="", source="bam")
    return pd.concat([calls, extra[calls.columns]], ignore_index=True)


def observations(samples: pd.DataFrame, calls, bam_counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Unbiased counts for the background: every BAM count of draws that have a BAM, and the VCF
    rows of the other draws when their patient's pipeline force-calls sites. `calls`: see stacked_calls."""
    patient_of = dict(zip(samples["sample"], samples["patient"]))
    date_of = dict(zip(samples["sample"], samples["date"]))
    columns = ["patient", "sample", "date", *KEY, "alt_reads", "depth"]
    with_bam = set() if bam_counts is None or bam_counts.empty else set(bam_counts["sample"])
    # Row order: draws in the order of `calls` (a dict) or of the sample sheet (one table).
    vcf_rows = stacked_calls(calls, samples["sample"] if isinstance(calls, pd.DataFrame) else list(calls))
    vcf_rows = vcf_rows[~vcf_rows["sample"].isin(with_bam)].reset_index(drop=True)
    if len(vcf_rows):
        source = vcf_rows["source"] if "source" in vcf_rows else pd.Series("vcf", index=vcf_rows.index)
        vcf_rows = vcf_rows[(source == "vcf").to_numpy()].reset_index(drop=True)
        # object arrays, not pandas strings: the background walks these columns value by value
        vcf_rows["patient"] = vcf_rows["sample"].map(patient_of).astype(object)
        vcf_rows["date"] = vcf_rows["sample"].map(date_of).astype(object)
    else:
        vcf_rows = pd.DataFrame(columns=columns)
    if len(vcf_rows):
        genotyped = vcf_rows["sample"].isin(genotyping_samples(vcf_rows))
        without_bam = samples[~samples["sample"].isin(with_bam)]
        sparse = sparse_observations(vcf_rows[~genotyped][columns], without_bam)
        vcf_rows = pd.concat([vcf_rows[genotyped][columns], sparse], ignore_index=True)
    parts = [vcf_rows[columns]]
    if with_bam:
        bam = bam_counts.assign(patient=bam_counts["sample"].map(patient_of), date=bam_counts["sample"].map(date_of))
        parts.append(bam[columns])
    return pd.concat(parts, ignore_index=True)


def build_timeline(
    samples: pd.DataFrame, calls, kb, build, params, background=None, chip_genes=DEFAULT_CHIP_GENES,
    negatives="informative", filters=None, cohort=None,
) -> pd.DataFrame:
    """Timeline of the patients of `samples` (the whole cohort, or some of its patients with the
    cohort's CohortSites as `cohort`): patients in order, each with its variants at each of its draws;
    `negatives` ('informative' or 'all') chooses which sites without any alt read are listed, `filters`
    (a FilterPolicy) which FILTER values guard a variant."""
    if background is None:
        background = BackgroundModel(BackgroundParams(), observations(samples, calls))
    return _timeline(samples, calls, kb, build, params, background, tuple(chip_genes), negatives, filters, cohort)


class CohortSites:
    """What listing a patient's negative sites needs to know of the whole cohort: how many patients
    report each site, and the sites some patient carries (cohort_variant_sites, worked out on first
    use). Taken from all calls once, it lets the timeline be built for a few patients at a time."""

    def __init__(self, reporting: pd.Series, carried):
        self.reporting = reporting  # patients whose records report each site (index: KEY)
        self._carried = carried  # the set, or a function giving it

    @classmethod
    def of(cls, table: pd.DataFrame, background, params) -> CohortSites:
        """From the call table of every draw (_call_table) and the fitted background."""
        reporting = table[["patient", *KEY]].drop_duplicates().groupby(KEY).size()
        return cls(reporting, lambda: cohort_variant_sites(table, background, params))

    @classmethod
    def of_cohort(cls, samples: pd.DataFrame, calls, background, params, negatives: str) -> CohortSites:
        """CohortSites of all draws of `samples`, the carried sites worked out now where `negatives`
        needs them (nothing of the call table is kept)."""
        sites = cls.of(_call_table(_ordered_draws(samples), calls), background, params)
        sites._carried = sites.carried() if negatives != "all" else set()
        return sites

    def carried(self) -> set:
        if callable(self._carried):
            self._carried = self._carried()
        return self._carried


# --------------------------------------------------------------------------- negative results
# A force-called or tumour-informed VCF reports sites with a depth and no alt read: "EGFR T790M not
# detected at 4,506x, LoD95 0.07 %" is the result a lab reports most often, so such records are listed.
# A large force-called panel would multiply the timeline by its size with rows that say only "nothing
# here"; those (non-knowledge-base sites that no draw of any patient shows) are summarised per draw.

NEGATIVES_MODES = ("informative", "all")
NEGATIVES_COLUMNS = [
    "patient", "sample", "date", "summarised_sites", "not_detected", "not_assessable", "median_depth", "median_lod",
]  # fmt: skip


def listed_variants(table: pd.DataFrame, kb, build: str, negatives: str, background, params, cohort=None) -> pd.DataFrame:
    """(patient, chrom, pos, ref, alt) the timeline lists: every allele shown (alt reads, or a VAF
    without counts) in a draw of the patient, plus the negative sites kept (kept_negatives); `cohort`:
    CohortSites of the whole cohort (default: of `table`)."""
    if negatives not in NEGATIVES_MODES:
        raise ValueError(f"negatives must be one of {', '.join(NEGATIVES_MODES)}, not '{negatives}'")
    if table.empty:
        return pd.DataFrame(columns=["patient", *KEY])
    shown = table.loc[shows_allele(table), ["patient", *KEY]].drop_duplicates()
    kept = kept_negatives(table, shown, kb, build, negatives, cohort or CohortSites.of(table, background, params))
    listed = pd.concat([shown, kept], ignore_index=True)
    return listed.sort_values(["patient", *KEY], kind="stable").reset_index(drop=True)


def kept_negatives(table: pd.DataFrame, shown: pd.DataFrame, kb, build: str, negatives: str, cohort: CohortSites) -> pd.DataFrame:
    """Sites a patient's records report with a depth but without any alt read in any of its draws, that
    are listed:

    - knowledge-base sites (by position, or by the gene and protein change the records name);
    - sites counted in the patient's BAM/CRAM files (the tracked sites);
    - with `negatives` = 'all', every other site; with 'informative', a site that only this patient's
      VCFs report (a tumour-informed panel: the site is one of the patient's tumour variants) or that
      another patient carries (`cohort.carried()`, see cohort_variant_sites).
    The others, sites of a panel shared by several patients that no patient carries, are left to
    negatives_summary. Not "no alt read in any patient": at raw-NGS error rates nearly every panel site
    has a stray alt read somewhere in a large cohort, and the summary would then summarise nothing.
    """
    # A negative needs a depth somewhere: a record or BAM count without reads (a site the assay does not
    # cover) says nothing, and BAM counting visits every relevant knowledge-base site, covered or not.
    covered = table.loc[table["depth"] > 0, ["patient", *KEY]].drop_duplicates()
    marked = covered.merge(shown.assign(_shown=True), on=["patient", *KEY], how="left")
    candidates = marked[marked["_shown"].isna()].drop(columns="_shown")
    if candidates.empty:
        return candidates
    named = _annotations(table.merge(candidates, on=["patient", *KEY]))
    candidates = candidates.merge(named, on=["patient", *KEY], how="left").fillna({"gene": "", "protein_change": ""})
    in_kb = [
        bool(kb.match(build, *key, gene=gene, protein_change=protein))
        for *key, gene, protein in candidates[[*KEY, "gene", "protein_change"]].itertuples(index=False, name=None)
    ]
    from_bam = table.loc[table["source"] == "bam", ["patient", *KEY]].drop_duplicates().assign(_bam=True)
    candidates = candidates.merge(from_bam, on=["patient", *KEY], how="left")
    keep = np.asarray(in_kb, dtype=bool) | candidates["_bam"].notna().to_numpy()
    if negatives == "all":
        keep[:] = True
    else:
        site = pd.MultiIndex.from_frame(candidates[KEY])
        keep |= cohort.reporting.reindex(site).to_numpy() == 1  # private: a tumour-informed site
        if not keep.all():
            keep |= site.isin(list(cohort.carried()))
    return candidates.loc[keep, ["patient", *KEY]]


def cohort_variant_sites(table: pd.DataFrame, background, params) -> set[tuple]:
    """Sites that some patient carries: a draw with at least `min_alt_reads` alt reads whose p-value is at
    most `alpha` divided by the number of draws reporting the site in the cohort.

    Divided, because at `alpha` = 1 % per draw a panel site reported in thousands of draws is `detected`
    by chance in dozens of them. The p-value uses the site's cohort-level error (background.null without
    leaving the patient out): this only decides which negatives are listed, never a draw's status."""
    alt = table["alt_reads"]
    reads = table[alt.notna() & (alt >= max(params.min_alt_reads, 1)) & (table["depth"] > 0)]
    if reads.empty:
        return set()
    keys = list(reads[KEY].itertuples(index=False, name=None))
    nulls = {key: background.null(key) for key in set(keys)}
    rate = np.array([nulls[k].error_rate for k in keys], dtype=float)
    rho = np.array([nulls[k].dispersion for k in keys], dtype=float)
    p_value = null_sf_many(reads["alt_reads"].astype(np.int64), reads["depth"].astype(np.int64), rate, rho)
    draws_per_site = table.groupby(KEY).size()
    bar = params.alpha / draws_per_site.reindex(pd.MultiIndex.from_tuples(keys)).to_numpy()
    return {key for key, carried in zip(keys, p_value <= bar) if carried}


def negatives_summary(samples: pd.DataFrame, calls, timeline: pd.DataFrame, background, params) -> pd.DataFrame:
    """One row per draw: how many of its records with a depth the timeline does not list (summarised
    negative sites), how many of them are not_detected / not_assessable, their median depth and LoD95.

    The LoD uses each site's cohort-level error (background.null without a patient): the sites are
    shown by no draw of any patient, so leaving the patient out would change nothing worth the time."""
    draws = _ordered_draws(samples)
    table = _call_table(draws, calls)
    listed = timeline[["patient", *KEY]].drop_duplicates().assign(_listed=True)
    table = table.merge(listed, on=["patient", *KEY], how="left")
    # Records without reads (a site the assay does not cover) are neither listed nor counted.
    rest = table[table["_listed"].isna() & (table["depth"] > 0)].reset_index(drop=True)
    summary = draws[["patient", "sample", "date"]].copy()
    if rest.empty:
        return _empty_summary(summary)
    nulls = {key: background.null(key) for key in set(rest[KEY].itertuples(index=False, name=None))}
    keys = list(rest[KEY].itertuples(index=False, name=None))
    rate = np.array([nulls[k].error_rate for k in keys], dtype=float)
    rho = np.array([nulls[k].dispersion for k in keys], dtype=float)
    status, _, lod = classify_many(rest["alt_reads"], rest["depth"], rest["vaf"], params, rate, rho)
    rest = rest.assign(_nd=status == NOT_DETECTED, _na=status == NOT_ASSESSABLE, _lod=lod)
    grouped = rest.groupby("sample", sort=False)
    per_draw = pd.DataFrame({
        "summarised_sites": grouped.size(), "not_detected": grouped["_nd"].sum(), "not_assessable": grouped["_na"].sum(),
        "median_depth": grouped["depth"].median(), "median_lod": grouped["_lod"].median(),
    })  # fmt: skip
    summary = summary.merge(per_draw, left_on="sample", right_index=True, how="left")
    return _empty_summary(summary) if per_draw.empty else summary.fillna(
        {"summarised_sites": 0, "not_detected": 0, "not_assessable": 0}
    ).astype({"summarised_sites": int, "not_detected": int, "not_assessable": int})[NEGATIVES_COLUMNS]


def _empty_summary(draws: pd.DataFrame) -> pd.DataFrame:
    """Every draw with no summarised site."""
    return draws.assign(summarised_sites=0, not_detected=0, not_assessable=0, median_depth=np.nan,
                        median_lod=np.nan)[NEGATIVES_COLUMNS]  # fmt: skip


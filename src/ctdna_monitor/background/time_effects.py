"""Time: a site error drifting over the months (other patients' draws near a date), and the patient's own
earlier draws as noise data.

Methods of BackgroundModel, kept here so each concern stays small (see model.py)."""

from __future__ import annotations

import numpy as np

from .common import RAISED_Z, DateIndex, tail_below


class TimeEffects:
    """Date-window rates and the patient's own past of a BackgroundModel."""

    def _index_dates(self, days):
        """The fitted rows in date order per site and per (site, patient) (None without dates)."""
        rows = self.rows
        self.dated = None if days is None else (DateIndex(rows.site, days, len(rows.sites)),
                                                DateIndex(rows.key, days, len(rows.pair)))  # fmt: skip

    def _fit_local(self, noise, factor, days):
        """Running sums, in date order, of the noise rows per site and per (site, patient), for windowed
        (local) rates: a window's sums are two look-ups, and the patient's own part is taken off."""
        self.local = None
        if days is None:
            return
        by_site, by_patient = self.dated
        alt = self.obs.alt_reads.to_numpy(float) * noise
        exposure = self.obs.depth.to_numpy(float) * factor * noise
        self.local = (by_site.running(alt), by_site.running(exposure), by_patient.running(alt), by_patient.running(exposure))

    def local_rates(self, sites, patients, days, site_rates) -> np.ndarray:
        """Each row's site rate near its date: the other patients' noise draws within
        `local_window_days`, shrunk towards `site_rates` (per unit draw factor) with
        `local_prior_depth` reads, and at most `hotspot_fold` times the site's rate. A site error
        that drifts over months, or a run of raised error, moves it; a carrier cannot (carriers are
        not noise)."""
        if days is None or self.local is None:
            return np.asarray(site_rates, float).copy()
        site = self.rows.site_codes([(c, int(p), r, a) for c, p, r, a in sites])
        return self._local_rates(site, self.rows.key_codes(site, patients), np.asarray(days, float), site_rates)

    def _windows(self, site, key, days):
        """Where each row's window of `local_window_days` starts and ends in the running sums of its site
        and of its (site, patient); rows given as fitted codes (-1: not fitted). A site with a row
        without a date keeps its rates (as do sites the fit did not see), so has no windows."""
        undated = np.bincount(site[site >= 0], weights=np.isnan(days[site >= 0]), minlength=len(self.rows.sites)) > 0
        rows = np.flatnonzero(site >= 0)
        rows = rows[~undated[site[rows]]]
        by_site, by_patient = self.dated
        first, last = days[rows] - self.params.local_window_days, days[rows] + self.params.local_window_days
        mine = key[rows] >= 0  # (a patient without rows at the site has nothing to take off)
        return rows, mine, by_site.between(site[rows], first, last), by_patient.between(key[rows][mine], first[mine], last[mine])

    def _local_rates(self, site, key, days, site_rates, windows=None) -> np.ndarray:
        """local_rates of rows given as fitted site and (site, patient) codes (-1: not fitted);
        `windows`: their _windows, if known."""
        site_rates = np.asarray(site_rates, float)
        out = site_rates.copy()
        if days is None or self.local is None:
            return out
        rows, mine, (low, high), (own_low, own_high) = windows or self._windows(site, key, days)
        site_alt, site_exposure, own_alt, own_exposure = self.local
        a, e = site_alt[high] - site_alt[low], site_exposure[high] - site_exposure[low]
        # the other patients' draws: the patient's own part taken off
        a[mine] -= own_alt[own_high] - own_alt[own_low]
        e[mine] -= own_exposure[own_high] - own_exposure[own_low]
        a, e = np.maximum(a, 0.0), np.maximum(e, 0.0)
        m, rates = self.params.local_prior_depth, site_rates[rows]
        expected = e * rates
        raised = a - expected > RAISED_Z * np.sqrt(np.maximum(expected, 1e-12))
        # at most hotspot_fold x the site's rate: a drift or a bad run multiplies a site's error by
        # a few times, while other patients' variants that are not yet known as such could
        # raise a quiet (e.g. UMI) site to a clone's level and hide this patient's clone
        local = np.minimum((a + m * rates) / (e + m), self.params.hotspot_fold * rates)
        out[rows] = np.where(raised, local, rates)
        return out

    def _own_past(self, site, key, days, rate, weight, cohort):
        """A patient's own earlier draws at a site are noise data too, unless they show the variant:
        pooled, they update the site's rate (a beta posterior weighing `weight` reads). An emergence is
        then judged against the site's behaviour in this patient so far: a position that errs in this
        patient's libraries stays quiet, one that never erred gets a tighter null. Draws of the same date
        or later never count, nor do own draws whose pooled counts are significant (p < carrier_p).
        Rows are given as fitted site and (site, patient) codes (-1: not fitted)."""
        rate, weight = rate.copy(), weight.copy()
        if days is None or self.own is None or np.isnan(days).any():
            return rate, weight
        # a (site, patient) pair counts if its first row is a cohort row; rows in the pairs' order
        # of first appearance (the order the p-values were always computed in)
        known = np.flatnonzero(key >= 0)
        first = np.full(len(self.rows.pair), len(key))
        np.minimum.at(first, key[known], known)
        rows = known[cohort[first[key[known]]]]
        rows = rows[np.argsort(first[key[rows]], kind="stable")]
        if not len(rows):
            return rate, weight
        at = self.dated[1].before(key[rows], days[rows])
        alt, exposure, depth = (running[at] for running in self.own)
        relative = self._site_values(self._relative_dispersion)[site[rows]]
        ceiling = self._site_values(self._site_ceiling)[site[rows]]
        r, w = rate[rows], weight[rows]
        rho = np.minimum(relative * r, self.params.max_dispersion) + 1.0 / (w + 1.0)  # as _rho()
        used = exposure > 0
        used &= ~tail_below(alt.astype(np.int64), depth.astype(np.int64), r, rho, self.params.carrier_p)  # (finite counts and rates)
        updated = (r * w + alt) / (w + exposure)
        rate[rows] = np.where(used, np.clip(updated, self.params.min_error, ceiling), r)
        weight[rows] = np.where(used, w + exposure, w)
        return rate, weight

    def _fit_own(self, factor, days, use):
        """Per (site, patient), running sums in date order of the patient's alt reads, exposure (depth x
        draw factor, per typical draw) and depth, for _own_past; rows not in `use` (burst draws) add
        nothing."""
        self.own = None
        obs = self.obs
        if days is None or not len(obs) or np.isnan(days).any():
            return
        exposure = obs.depth.to_numpy(float) * factor / self.typical_factor * use
        alt, depth = obs.alt_reads.to_numpy(float) * use, obs.depth.to_numpy(float) * use
        self.own = tuple(self.dated[1].running(values) for values in (alt, exposure, depth))

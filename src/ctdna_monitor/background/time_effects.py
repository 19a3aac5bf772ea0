"""Time: a site error drifting over the months (other patients' draws near a date), and the patient's own
earlier draws as noise data.

Methods of BackgroundModel, kept here so each concern stays small (see model.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import RAISED_Z, SITE, _running, _window, tail_p


class TimeEffects:
    """Date-window rates and the patient's own past of a BackgroundModel."""

    def _fit_local(self, obs, index, noise, factor, days):
        """Per site, the noise rows sorted by date with running sums, for windowed (local) rates."""
        self.local = {}
        if days is None:
            return
        alt, exposure = obs.alt_reads.to_numpy(float), obs.depth.to_numpy(float) * factor
        patients = obs.patient.to_numpy()
        for site, rows in index.items():
            keep = rows[noise[rows]]
            keep = keep[np.argsort(days[keep], kind="stable")]
            own = {}
            # (positions of each patient's rows in date order: one grouping, not one scan per patient)
            for patient, where in pd.Series(keep).groupby(patients[keep], sort=False).indices.items():
                mine = keep[where]
                own[patient] = _running(days[mine], alt[mine], exposure[mine])
            self.local[site] = (_running(days[keep], alt[keep], exposure[keep]), own)

    def local_rates(self, sites, patients, days, site_rates) -> np.ndarray:
        """Each row's site rate near its date: the other patients' noise draws within
        `local_window_days`, shrunk towards `site_rates` (per unit draw factor) with
        `local_prior_depth` reads, and at most `hotspot_fold` times the site's rate. A site error
        that drifts over months, or a run of raised error, moves it; a carrier cannot (carriers are
        not noise)."""
        site_rates = np.asarray(site_rates, float)
        out = site_rates.copy()
        if days is None or not self.local:
            return out
        sites = [(c, int(p), r, a) for c, p, r, a in sites]
        patients, days = np.asarray(patients), np.asarray(days, float)
        w, m = self.params.local_window_days, self.params.local_prior_depth
        groups = pd.Series(range(len(sites))).groupby(pd.Series(sites, dtype=object), sort=False).indices if sites else {}
        for site, rows in groups.items():
            if site not in self.local or np.isnan(days[rows]).any():
                continue
            whole, own = self.local[site]
            a, e = _window(whole, days[rows], w)
            for patient, where in pd.Series(rows).groupby(patients[rows], sort=False).indices.items():
                if patient in own:
                    oa, oe = _window(own[patient], days[rows[where]], w)
                    a[where] -= oa
                    e[where] -= oe
            a, e = np.maximum(a, 0.0), np.maximum(e, 0.0)
            expected = e * site_rates[rows]
            raised = a - expected > RAISED_Z * np.sqrt(np.maximum(expected, 1e-12))
            # at most hotspot_fold x the site's rate: a drift or a bad run multiplies a site's error by
            # a few times, while other patients' variants that are not yet known as such could
            # raise a quiet (e.g. UMI) site to a clone's level and hide this patient's clone
            local = np.minimum((a + m * site_rates[rows]) / (e + m), self.params.hotspot_fold * site_rates[rows])
            out[rows] = np.where(raised, local, site_rates[rows])
        return out

    def _own_past(self, sites, patients, days, rate, weight, cohort):
        """A patient's own earlier draws at a site are noise data too, unless they show the variant:
        pooled, they update the site's rate (a beta posterior weighing `weight` reads). An emergence is
        then judged against the site's behaviour in this patient so far: a position that errs in this
        patient's libraries stays quiet, one that never erred gets a tighter null. Draws of the same date
        or later never count, nor do own draws whose pooled counts are significant (p < carrier_p)."""
        rate, weight = rate.copy(), weight.copy()
        if days is None or not self.own or np.isnan(days).any():
            return rate, weight
        groups = pd.Series(range(len(sites))).groupby(pd.Series(list(zip(sites, patients)), dtype=object), sort=False).indices
        # the patient's own sums before each row's date, gathered for all rows, then judged at once
        found, sums, relative, ceiling = [], [], [], []
        for key, rows in groups.items():
            if key not in self.own or not cohort[rows[0]]:
                continue
            own_days, cum_alt, cum_exposure, cum_depth = self.own[key]
            upto = np.searchsorted(own_days, days[rows], "left")
            site = key[0]
            found.append(rows)
            sums.append(np.stack((cum_alt[upto], cum_exposure[upto], cum_depth[upto])))
            relative.append(np.full(len(rows), self._relative_dispersion(site)))
            ceiling.append(np.full(len(rows), self._site_ceiling(site)))
        if not found:
            return rate, weight
        rows = np.concatenate(found)
        alt, exposure, depth = np.concatenate(sums, axis=1)
        relative, ceiling = np.concatenate(relative), np.concatenate(ceiling)
        r, w = rate[rows], weight[rows]
        rho = np.minimum(relative * r, self.params.max_dispersion) + 1.0 / (w + 1.0)  # as _rho()
        used = exposure > 0
        used &= tail_p(alt.astype(np.int64), depth.astype(np.int64), r, rho) >= self.params.carrier_p
        updated = (r * w + alt) / (w + exposure)
        rate[rows] = np.where(used, np.clip(updated, self.params.min_error, ceiling), r)
        weight[rows] = np.where(used, w + exposure, w)
        return rate, weight

    def _fit_own(self, obs, factor, days, use):
        """Per (site, patient), the patient's draws sorted by date with running sums of alt reads,
        exposure (depth x draw factor, per typical draw) and depth, for _own_past; rows not in `use`
        (burst draws) add nothing."""
        self.own = {}
        if days is None or not len(obs) or np.isnan(days).any():
            return
        exposure = obs.depth.to_numpy(float) * factor / self.typical_factor * use
        alt, depth = obs.alt_reads.to_numpy(float) * use, obs.depth.to_numpy(float) * use
        keys = list(zip(obs[SITE].itertuples(index=False, name=None), obs.patient))
        for key, rows in pd.Series(range(len(obs))).groupby(pd.Series(keys, dtype=object), sort=False).indices.items():
            rows = rows[np.argsort(days[rows], kind="stable")]
            zero = np.zeros(1)
            self.own[key] = (days[rows], np.concatenate((zero, np.cumsum(alt[rows]))),
                             np.concatenate((zero, np.cumsum(exposure[rows]))), np.concatenate((zero, np.cumsum(depth[rows]))))  # fmt: skip

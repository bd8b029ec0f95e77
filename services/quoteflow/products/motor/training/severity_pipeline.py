"""The severity step of training: candidates, choice, plots, parameter uncertainty."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from quoteflow.actuarial import mean_check, severity, splice, uncertainty
from quoteflow.actuarial.severity import SeverityFit, SpliceOptions

if TYPE_CHECKING:
    from quoteflow.products.motor.training.config import QuoteflowConfig


@dataclass(frozen=True)
class SeveritySettings:
    """What the severity step needs (config.SeverityConfig maps onto it)."""

    threshold: float = 0.0  # reporting threshold of the claims, base-year prices
    families: tuple[str, ...] = severity.FAMILIES
    splice: SpliceOptions | None = field(default_factory=SpliceOptions)
    posterior: bool = True
    abc_samples: int = uncertainty.ABC_SAMPLES
    abc_acceptance: float = uncertainty.ABC_ACCEPT
    masses: tuple[float, ...] = ()  # fixed amounts modelled as point masses


@dataclass
class SeverityResult:
    fits: list[SeverityFit]
    chosen: SeverityFit
    plots: dict[str, bytes]
    posterior: uncertainty.Posterior | None
    mean_check: mean_check.MeanCheck


def run(amounts: np.ndarray, settings: SeveritySettings, seed: int, currency: str,
        plots: bool = True) -> SeverityResult:
    """Fit every candidate, choose by AIC, plot, and (optionally) the posterior."""
    fits = severity.fit_all(amounts, settings.threshold, settings.families, settings.splice,
                            settings.masses)
    chosen = severity.choose(fits)
    pngs: dict[str, bytes] = {}
    if plots:
        pngs = {f"qq_{f.slug}.png": severity.qq_plot_png(amounts, f, f is chosen) for f in fits}
        choice = (chosen.threshold_choice or
                  next((f.threshold_choice for f in fits if f.threshold_choice), None))
        if choice is not None:
            above = amounts[amounts >= settings.threshold]
            if chosen.model.atoms:  # the threshold was chosen on the claims off the masses
                above = above[~np.isin(above, chosen.model.atoms.amounts)]
            pngs["mean_excess.png"] = splice.mean_excess_png(above, choice, currency)
            pngs["shape_stability.png"] = splice.stability_png(choice, currency)
    posterior = None
    if settings.posterior:
        posterior = uncertainty.abc(amounts, chosen.model, seed, settings.abc_samples,
                                    settings.abc_acceptance)
    return SeverityResult(fits, chosen, pngs, posterior,
                          mean_check.mean_check(chosen.model, amounts, seed))


def from_config(cfg: QuoteflowConfig) -> SeveritySettings:
    sev, data = cfg.training.severity, cfg.training.data
    sp = sev.splice
    return SeveritySettings(
        threshold=data.reporting_threshold, families=tuple(sev.families),
        splice=SpliceOptions(sp.quantiles, sp.candidates, sp.min_exceedances)
        if sp.enabled else None,
        posterior=sev.uncertainty.enabled, abc_samples=sev.uncertainty.abc_samples,
        abc_acceptance=sev.uncertainty.abc_acceptance,
        masses=tuple(sev.point_masses))


def default_settings(shipped_claims: bool) -> SeveritySettings:
    """The base configuration's settings for the shipped claims; plain fits for a file
    (its reporting threshold and fixed amounts are unknown)."""
    from quoteflow.products.motor.training import config

    settings = from_config(config.load(None))
    if shipped_claims:
        return settings
    return SeveritySettings(0.0, settings.families, None, settings.posterior,
                            settings.abc_samples, settings.abc_acceptance)

"""Probabilistic CLV: BG/NBD, Pareto/NBD and Gamma-Gamma estimators and per-customer outputs."""

from training.clv.bgnbd import BetaGeo
from training.clv.gamma_gamma import GammaGamma
from training.clv.outputs import clv_outputs
from training.clv.pareto_nbd import ParetoNBD
from training.clv.summary import rfm_summary

__all__ = ["BetaGeo", "GammaGamma", "ParetoNBD", "clv_outputs", "rfm_summary"]

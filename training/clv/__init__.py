"""Customer lifetime value: the BTYD estimators (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma) and
cintel-clv, their XGBoost correction (config, fit, model, metrics, report)."""

from training.clv.bgnbd import BetaGeo
from training.clv.config import ClvConfig
from training.clv.fit import fit
from training.clv.gamma_gamma import GammaGamma
from training.clv.metrics import FLOORS, GREATER_IS_BETTER, MAIN_METRIC, evaluate
from training.clv.model import OUTPUT_COLUMNS, ClvModel
from training.clv.outputs import clv_outputs
from training.clv.pareto_nbd import ParetoNBD
from training.clv.report import write_artifacts
from training.clv.summary import rfm_summary

__all__ = [
    "FLOORS",
    "GREATER_IS_BETTER",
    "MAIN_METRIC",
    "OUTPUT_COLUMNS",
    "BetaGeo",
    "ClvConfig",
    "ClvModel",
    "GammaGamma",
    "ParetoNBD",
    "clv_outputs",
    "evaluate",
    "fit",
    "rfm_summary",
    "write_artifacts",
]

"""Cross-sell propensity per product family, basket rules and family customer profiles."""

from training.propensity.baskets import basket_rules
from training.propensity.config import PropensityConfig
from training.propensity.fit import MIN_CUSTOMERS, fit
from training.propensity.metrics import FLOORS, GREATER_IS_BETTER, MAIN_METRIC, evaluate
from training.propensity.model import PropensityModel
from training.propensity.profiles import family_profiles
from training.propensity.report import write_artifacts

__all__ = [
    "FLOORS",
    "GREATER_IS_BETTER",
    "MAIN_METRIC",
    "MIN_CUSTOMERS",
    "PropensityConfig",
    "PropensityModel",
    "basket_rules",
    "evaluate",
    "family_profiles",
    "fit",
    "write_artifacts",
]

"""cintel monitoring: request log, Evidently reports, retraining policy and cycle."""

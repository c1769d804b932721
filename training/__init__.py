"""cintel training: data contract, simulator, features, labels, models, MLflow and CLI."""

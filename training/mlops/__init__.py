"""The MLflow side: tracking, model logging, the registry, the gate, promotion, the UI."""

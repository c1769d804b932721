"""The snapshot engine on Apache Spark: same columns as the pandas engine, beyond one machine."""

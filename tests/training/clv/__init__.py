"""Tests of the probabilistic CLV models."""

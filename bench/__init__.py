"""Benchmarks of the Group Portal API (not tests): ``make bench``, results under ``results/``."""

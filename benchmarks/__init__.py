"""Benchmarks of the nightly report's Flink job and its peers: run each as ``python -m benchmarks.<name>``."""

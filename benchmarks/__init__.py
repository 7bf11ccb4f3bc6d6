"""Benchmarks of the workflow engine on a real Kafka broker."""

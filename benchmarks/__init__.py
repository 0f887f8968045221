"""Throughput and latency harnesses; each prints one JSON object (see README.md)."""

"""Fraud services: they write."""

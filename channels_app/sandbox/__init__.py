"""The sandbox ledger: a local stand-in for rippled in standalone mode.

It speaks the subset of rippled's JSON-RPC the product uses, decodes transactions with
xrpl-py's binary codec, checks signatures with the project's strict verifier and applies
rippled's rules (sequences, fees, reserves, payment channels) with rippled's result codes.
Pure Python and xrpl-py: it never touches the Django database.
"""

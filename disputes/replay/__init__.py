"""`manage.py disputes_replay SCENARIO.json`: a scenario run through the real services on a
throwaway database and its own sandbox ledger (see `runner` and `environment`)."""

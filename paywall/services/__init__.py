"""paywall services: the only code that changes publishers, articles, readers and unlocks."""

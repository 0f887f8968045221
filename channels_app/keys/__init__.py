"""Key management: the only code that touches platform key material."""

"""Publisher payouts (holdback, fee, batches, multisign) and reader refunds."""

"""channels_app services: the only code that changes channel, claim, settlement and journal state."""

"""Show state machines (one per event kind); pure, time and randomness passed in."""

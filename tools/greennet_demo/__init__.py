"""`scripts/demo`: the whole GreenNet system on loopback, for people and for tests."""

"""Assistant engines backed by remote models."""

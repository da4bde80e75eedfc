"""Implementations of the domain ports: MongoDB/Beanie, brokers, security, outbound HTTP."""

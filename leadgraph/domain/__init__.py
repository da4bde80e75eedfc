"""Entities and rules of lead capture. Pure Python: no web, database or broker imports."""

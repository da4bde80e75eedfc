"""MongoDB through Beanie 2 on PyMongo's async client (real MongoDB or embedded nx-27017)."""

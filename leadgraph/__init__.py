"""LeadGraph: one typed GraphQL API for AI-assisted lead capture, with REST dialects at the edge.

Layers (enforced by import-linter, see pyproject.toml):
``domain`` <- ``resolvers`` <- (``schema`` | ``rest_compat``), and ``adapters`` -> ``domain``.
``leadgraph.app`` is the composition root that wires adapters into resolvers.
"""

__version__ = "0.1.0"

"""``python -m leadgraph`` is the ``leadgraph`` command."""

from leadgraph.cli import app

app(prog_name="leadgraph")

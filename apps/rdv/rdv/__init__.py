"""Citizens' appointment booking of a town hall (bastide's rdv application)."""

__version__ = "0.1.0"

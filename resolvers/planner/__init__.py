"""The planned read path's SQL side: statements compiled once per shape and viewer, run on
one connection without SQLAlchemy's per-request building (``schema.planner`` reads the
documents)."""

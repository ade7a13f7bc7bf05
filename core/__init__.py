"""The neutral core: errors, ids, masking, the clock, settings and logging.

Every layer may import it; it imports nothing of the project (an import-linter contract in
``pyproject.toml`` holds that), so a rule kept here has one definition for the whole server.
"""

"""Accounts in the graph: ``types`` (the ``Account`` interface, regulator and institution accounts,
claims), ``inputs``, ``payloads``, ``query`` and ``mutation``.
"""

"""Inspection and rectification (排查, 整改, docs/DOMAIN.md §R2.4) and supervision from above (§R3):
``ledgers`` (inspections and their ledgers), ``notices`` (urging notices, counts per region).
"""

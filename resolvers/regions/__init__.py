"""Regions (行政区划, docs/DOMAIN.md §G2): reads of the tree in force (``reading``), change sets
(区划调整: ``changes`` reads and checks a file, ``applying`` applies it in one transaction),
docs/regions.md."""

from resolvers.regions.reading import MAX_CHILDREN, find_region, listed_on, retired_note, unknown_region_message

__all__ = ["MAX_CHILDREN", "find_region", "listed_on", "retired_note", "unknown_region_message"]

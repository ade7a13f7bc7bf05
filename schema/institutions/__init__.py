"""The institution (校外培训机构) in the graph: ``types`` (the node and its five parts), ``home``
(后台首页), ``inputs`` (the parts and the list filter), ``payloads``, ``query`` and ``mutation``.

The package imports none of its modules: ``schema.root`` imports ``query`` and ``mutation``.
"""

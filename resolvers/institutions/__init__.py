"""Institutions (校外培训机构) and the county registration desk (docs/DOMAIN.md §R2).

``registration`` (the five parts' field table and their validation), ``saving`` (saving a
part, deleting), ``listing`` (the list's filters and pages), ``template``, ``importing`` and
``exporting`` (the batch import's workbook both ways).
"""

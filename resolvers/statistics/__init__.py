"""Statistics (分类数据统计): docs/DOMAIN.md §R4, 部级、省级、地市级以指导监管为主 … 能够对所辖范围内的摸排
整改情况、审批情况、备案情况、举报情况进行分类数据统计.

One view counts, within the caller's scope, the institutions of a region grouped by its child
regions (drill-down: ministry → provinces → prefectures → counties; in a lowest region, its
registering units: the county bureau itself, each sub-unit, and self-registered institutions)
or by kind, mode, nature, training category or supervising department, with a total. The
series counts registrations, inspections, complaints and approvals month by month.

Everything is counted in SQL, in a fixed number of statements whatever the number of rows:
the region (1), the groups of a region view (1), and the counts (1); and, when a query asks
for them, the findings per rule (1, ``resolvers.statistics.findings``), from the same sources. The counts come mostly
from the maintained tallies (``models.statistics``: per institution, and per county), each
source counted with ``FILTER`` clauses or sums under ``ROLLUP(group)``, which yields every
group's row and the total in one pass, and a ``UNION ALL`` of the sources summed per group:

- A view by child region, without filters on the institutions or dates, for a viewer whose
  scope is its whole subtree (``by_county``), sums the county tallies of the regions below,
  each under its child (the region path gives it: ``split_part(path, '/', depth + 1)``);
  overdue (which depends on the day) is counted from the rectifying institutions' deadlines
  and the median handling time from the handled complaints.
- Every other view maps each institution in scope to its group once (a CTE over the
  institution table) and sums their ``institution_tally``; with a date range the events
  (inspections, applications) are counted from their rows, and complaints always are.
  In the training-category view, where an institution has several groups, each institution
  is placed once more under the total's key instead of ROLLUP.

Because each total comes from the same rows as the groups, every number of the total is the
sum of the rows' numbers (except medians, and in the training-category view, where an
institution with several categories counts in each of them and the total counts it once).

Scope (``auth.scope``): institutions are those of ``scope(viewer, Institution)``; inspections,
applications, classes and staff are counted through them (the scope rule of the records an
institution owns); complaints by ``scope(viewer, Complaint)``. Where that rule gives a viewer
nothing (sub-units and departments other than education), the complaint counters are null,
not zero, so that "none in scope" does not read as "none filed". They are null too in the
views by kind, mode, nature, category and department and under an institution filter, since
a complaint is filed with a county, not necessarily about a registered institution. The
county tallies stand for scoped counts only where ``auth.scope.sees_whole_subtree`` says the
scope of institutions and complaints is exactly the viewer's subtree (which holds the region).

Days are China Standard Time (UTC+8): a timestamp's day and month, and the bounds of a date
range, are Beijing's.
"""

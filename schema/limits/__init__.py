"""Query limits (查询限制): what one request may ask for, by caller, checked before any
resolver runs and in time linear in the document.

- **Tokens** before the document is parsed.
- **Depth** of nested fields and **aliases** in the document as written (each fragment
  once; introspection's own nesting is not counted for depth: its cost is).
- **Inputs**: every string of the arguments (literals and variables) against its limit —
  ``STRING_LIMITS`` per argument or input field, ``FILTER_STRING`` for the fields of a
  ``…Filter`` input, ``MAX_STRING`` otherwise —, every list against ``MAX_LIST_ITEMS`` (a
  caller's ``representations`` for ``_entities``), and the nesting of JSON values.
- **Cost**: one for each field value the server would resolve. A field counts once per
  object it is selected on, so a list multiplies what is selected under it by the most
  items it can hold: a connection or a list with ``first`` by that page size (or the
  argument's default), ``_entities`` by its representations, and the other lists by the caps
  their records are created under (``BOUNDS``: an institution's sites, a class's
  teachers…). A bound may also be per owner: the courses of all the sites of one
  institution are at most ``MAX_COURSES`` together, however the sites split them. A fragment
  is measured once for each context it is spread in (memoised), and the walk stops as soon
  as the budget is passed. Introspection is counted alike, against a budget of its own
  (``introspection_budget``: the standard introspection query of that schema fits it, with
  room for the clients that ask a little more); its lists are bounded by the schema itself.

Over a limit the answer is one GraphQL error with ``extensions.code``
(``TOO_MANY_TOKENS``, ``QUERY_TOO_DEEP``, ``TOO_MANY_ALIASES``, ``INPUT_TOO_LONG``,
``TOO_MANY_ITEMS``, ``QUERY_TOO_COSTLY``), ``limit`` and ``actual`` (for the cost: what
had been counted when the walk stopped, so at least that much).
"""

from schema.limits.budgets import BOUNDS, BUDGETS, FILTER_STRING, MAX_JSON_DEPTH, MAX_LIST_ITEMS, MAX_STRING, STRING_LIMITS, Bound, Budget, bound_of, caller
from schema.limits.cost import cost, introspection_budget
from schema.limits.extension import QueryLimits, check
from schema.limits.inputs import check_inputs

__all__ = ["BOUNDS", "BUDGETS", "Bound", "Budget", "FILTER_STRING", "MAX_JSON_DEPTH", "MAX_LIST_ITEMS", "MAX_STRING", "QueryLimits", "STRING_LIMITS", "bound_of", "caller", "check", "check_inputs", "cost", "introspection_budget"]

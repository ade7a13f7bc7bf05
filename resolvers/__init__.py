"""The work behind the GraphQL fields and the HTTP routes, one module (or package) per domain:
region-scoped SQL, checks, transactions and the audit trail. Resolvers raise ``core.errors``
and return ``FieldError`` lists; they never import the schema.
"""

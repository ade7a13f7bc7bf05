"""Accounts (账号): regulators managed down the tree and institution accounts on the portal.

``login`` (login, logout, passwords, the throttle), ``regulators`` (account management),
``institution_accounts`` (registration, forgotten passwords, personal information),
``codes`` (verification codes), ``claims`` (机构认领), ``messaging`` (the sender of codes).
"""

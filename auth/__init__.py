"""Who is calling and what they may see: passwords, sessions, the viewer, permission classes,
role rules (``roles``) and the one scope function (``scope``), and the public rate limit.
"""

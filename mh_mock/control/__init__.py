"""The control surface: the operation table, and what is derived from it (admin routes, clients, CLI)."""

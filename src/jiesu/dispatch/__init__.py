"""Dispatch (派单): the catalogue of rules, jurisdiction, the learned router, returns, whistle."""

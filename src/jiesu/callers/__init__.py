"""Caller profiles (人): a caller's earlier requests and outcomes, repeat callers about the same
unsolved problem, and vulnerable callers flagged for priority call-backs."""

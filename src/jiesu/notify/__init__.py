"""Notifications: citizens, units and supervisors told of what happened (decision 0014)."""

"""Surge and emergency mode (制度弹性): declared events that gather callers into master cases."""

"""The policy sandbox: replay a period of history through a simulation of the loop."""

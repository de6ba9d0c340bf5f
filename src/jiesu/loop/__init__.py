"""Closing the loop: call-back tasks (回访), reopening, exclusions from scoring (不合理诉求)."""

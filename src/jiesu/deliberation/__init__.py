"""Deliberation (议事): consultations on real problems, with verified participants, a closing
decision and the work orders that carry it out."""

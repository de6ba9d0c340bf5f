"""The Open311 GeoReport v2 channel: services, requests, tokens and request updates.

Every request posted here goes through ``jiesu.intake.service.submit_request`` and every status
change through ``jiesu.workflow.service.apply_action``; this package only translates. The
router lives in ``endpoints`` (prefix ``/open311/v2``), the key commands in ``cli``.
"""

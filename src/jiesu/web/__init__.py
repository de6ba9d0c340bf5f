"""The web application: the citizen portal and the staff desks, rendered on the server over
the same services as the API (Jinja2 + HTMX, ECharts vendored; no business rules here)."""

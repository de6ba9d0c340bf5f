"""The equity view: outcomes compared across districts, channels and caller groups."""

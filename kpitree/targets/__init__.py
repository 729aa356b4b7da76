"""Targets per department and period, top-down allocation, attainment and alerts (issue #6)."""

"""Incidents: Prometheus alerts turned into Discord threads, with what the cluster says about them."""

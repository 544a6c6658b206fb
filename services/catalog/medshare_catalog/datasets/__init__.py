"""Datasets: the re-identification risk gate, freezing, manifests and archives."""

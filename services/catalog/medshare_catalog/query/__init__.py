"""Catalog queries: filters, ordered `$match` stages, plans, pages, facets, statistics, QIDO."""

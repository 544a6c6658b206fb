"""Pixel data: which instances may show identifying pixels, which regions to blank, blanking."""

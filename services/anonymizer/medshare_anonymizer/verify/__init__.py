"""Independent checks that no identifying source value survives in an output."""

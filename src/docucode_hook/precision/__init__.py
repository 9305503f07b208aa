"""What the prose may say: a backend's text grounded in the code, gated by confidence and checked for truth."""

"""Synthetic data factory: random recipes -> rendered, augmented, aligned samples -> dataset shards."""

"""Telling generated images from real ones: a trained detector, a keyed watermark, attacks."""

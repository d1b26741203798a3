"""Evaluation: metrics on RGB, their filters, perceptual networks (FID, LPIPS), photo streams, the runner and the reports."""

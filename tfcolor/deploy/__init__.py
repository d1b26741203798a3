"""Deployment: full-resolution inference, the SavedModel for TF Serving and its payloads, TFLite, and the colouriser that runs any of them."""

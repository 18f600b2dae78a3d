"""Documents the service renders for download (digital ID cards)."""

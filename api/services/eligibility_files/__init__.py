"""Eligibility files (X12 834 and the CSV roster): parsed into the same change items as the
portal form, and applied through the same rules (``api.services.eligibility``)."""

"""Hospital: owns patient records, trains locally, sends only encrypted updates."""

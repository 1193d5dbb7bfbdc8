"""Static files of the auditor page."""

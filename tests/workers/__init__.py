"""Small worker modules that exercise the job runner itself."""

"""slmops engine: plain async Python, no UI. Heavy ML libraries run only in worker subprocesses."""

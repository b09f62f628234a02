"""slmops' Textual app. It talks to the engine only; the ML stack never loads in this process."""

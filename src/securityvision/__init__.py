"""SecurityVision: the backend of a physical-security control room."""

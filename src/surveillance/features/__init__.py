"""Features: one declarative spec, a batch engine and a streaming engine that agree."""

"""The CPU fast path for GPT-2 decoding: private; reached only through one door."""

"""Hand-offs to the places models are loaded: ``integrations.huggingface``."""

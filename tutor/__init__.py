"""AI-literacy tutor: teaches health and care staff to use AI safely, from a curated corpus, with citations."""

import os

# Offline by default: nothing may download at run or test time. Set before any Hugging Face import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"
__all__ = ["__version__"]

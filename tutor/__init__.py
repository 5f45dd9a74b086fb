"""AI-literacy tutor: teaches health and care staff to use AI safely, from a curated corpus, with citations."""

import os

# Offline by default: nothing may download at run or test time. Set before any Hugging Face import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# torch's OpenMP threads sleep rather than spin while they wait: on 2 shared cores spinning wasted up to 3x the CPU
# of embedding itself (benchmarks/results). Read once when torch loads, so it must be set before that.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
__all__ = ["__version__"]

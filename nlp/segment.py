"""jieba segmentation with protected tokens, and TF-IDF keywords.

Tokens feed statistics, word clouds and full-text search (space-joined, so Elasticsearch's
``whitespace`` analyzer and SQLite FTS5 work with no Chinese plugin). Scheme matching does
not use tokens: it matches raw text (see ``pipeline.schemes``), because segmentation can
split a watched name.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from pathlib import Path

import jieba
import jieba.analyse

# Spans jieba must not split: Weibo emoticons, #topics#, @handles, URLs, signed numbers
# with units, placeholders from PII redaction.
_PROTECTED = re.compile(
    r"\[[^\[\]\s]{1,8}\]"
    r"|#[^#\s]{1,40}#"
    r"|@[\w\u4e00-\u9fff\-]{1,30}"
    r"|https?://[^\s\u4e00-\u9fff]+"
    r"|<(?:PHONE|EMAIL|IDNUM|QQ|WECHAT)>"
    r"|[+-]?\d+(?:\.\d+)?%?"
    r"|[A-Za-z]+\d+(?:\.\d+)*"
)
_JIEBA_WORD = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")
_KEYWORD = re.compile(r"[\u4e00-\u9fff]|^[A-Za-z]{2,}$")
_SENTENCE = re.compile(r"(?<=[。！？!?；;\n])")
_MAX_BLOCK = 100
MAX_SEGMENT_CHARS = 20_000
_WORDLIKE = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
STOPWORDS_FILE = Path(__file__).parent / "data" / "stopwords.txt"


def load_stopwords(path: Path = STOPWORDS_FILE) -> frozenset[str]:
    words = frozenset(w.strip() for w in path.read_text(encoding="utf-8").splitlines()
                      if w.strip() and not w.startswith("#"))
    if len(words) < 20:
        raise ValueError(f"{path}: only {len(words)} stop words; the file looks truncated")
    return words


log = logging.getLogger(__name__)


class Segmenter:
    """One jieba tokenizer per Processor, with the user dictionary loaded at start."""

    def __init__(self, userdict: Path | None = None) -> None:
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self._idf = jieba.analyse.TFIDF().idf_loader.get_idf()
        self._idf_default = sorted(self._idf[0].values())[len(self._idf[0]) // 2]
        self._protected = _PROTECTED
        self._stopwords = load_stopwords()
        if userdict and userdict.exists():
            self._load_userdict(userdict)

    def _load_userdict(self, path: Path) -> None:
        """Add words with frequencies large enough to win (jieba#751, #267).

        A line is ``word [freq] [tag]``; without a frequency, jieba's ``suggest_freq``
        computes one that keeps the word whole.
        """
        extra: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("#", 1)[0].split()
            if not parts:
                continue
            word = unicodedata.normalize("NFKC", parts[0])
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            self._jieba.add_word(word, freq=freq)
            if freq is None:
                self._jieba.suggest_freq(word, tune=True)
            if not _JIEBA_WORD.fullmatch(word):  # jieba's pre-split would cut it (jieba#536)
                extra.append(re.escape(word))
        if extra:
            self._protected = re.compile("|".join(sorted(extra, key=len, reverse=True)) + "|" + _PROTECTED.pattern)

    def tokens(self, text: str) -> list[str]:
        """Tokens of the first ``MAX_SEGMENT_CHARS`` characters (enough for statistics and search)."""
        text = unicodedata.normalize("NFKC", (text or "")[:MAX_SEGMENT_CHARS])
        out: list[str] = []
        pos = 0
        for m in self._protected.finditer(text):
            out.extend(self._cut(text[pos:m.start()]))
            out.append(m.group())
            pos = m.end()
        out.extend(self._cut(text[pos:]))
        return out

    def _cut(self, text: str) -> list[str]:
        out: list[str] = []
        # jieba's cost grows badly on long runs without punctuation; cut them into blocks.
        for block in _SENTENCE.split(text):
            for i in range(0, len(block), _MAX_BLOCK):
                out.extend(t for t in (w.strip() for w in self._jieba.cut(block[i:i + _MAX_BLOCK], HMM=True))
                           if t and _WORDLIKE.search(t))
        return out

    def keywords(self, tokens: list[str], k: int = 8) -> list[str]:
        """Top-k TF-IDF terms (jieba's IDF table); #topics# count, emoticons and handles do not."""
        counts = Counter(t for t in tokens if len(t) > 1 and t not in self._stopwords and t[0] not in "[@<"
                         and _KEYWORD.search(t))
        if not counts:
            return []
        total = sum(counts.values())
        idf = self._idf[0]
        scored = {t: (c / total) * idf.get(t, self._idf_default) for t, c in counts.items()}
        return [t for t, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


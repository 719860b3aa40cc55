"""n-gram language model of words or characters with interpolated Kneser-Ney smoothing.

A Markov model of order n: p(w_i | w_{i-n+1} .. w_{i-1}). Text is cut into sentences, each
padded with n-1 ``<s>`` on the left and one ``</s>`` on the right; tokens seen fewer than
``min_count`` times in training become ``<unk>``. The next-token distribution is over the
whole vocabulary except ``<s>`` (which is only ever context).

Smoothing:

- ``kneser-ney``: interpolated Kneser-Ney (Kneser & Ney 1995) in the modified form of Chen &
  Goodman (1998, "An empirical study of smoothing techniques for language modeling", Harvard
  TR-10-98): p(w|h) = max(a(hw) - D(a(hw)), 0) / sum_v a(hv) + gamma(h) p(w|h'), with
  three discounts D1, D2, D3+ per order estimated from the counts of counts, gamma(h) the
  mass they remove, h' the history without its oldest word, and at the bottom the uniform
  distribution. a() is the raw count at the highest order and the continuation count
  N1+(. g) (distinct left neighbours) below it; an n-gram starting with ``<s>`` keeps its raw
  count, since nothing can precede it (as in KenLM, Heafield et al. 2013). ``discount`` in
  (0, 1) uses that one fixed discount everywhere (the original interpolated KN).
- ``add-k``: (c(hw) + k) / (c(h) + k |V|) at the highest order alone: the baseline.

Counting is vectorised: the token stream is one int64 array, and the m-grams ending at every
position get dense ids order by order (``key = id(m-1 gram) * |V| + token``, then
``np.unique``): O(n L log L) time and O(n L) memory for L tokens. Tokenisation (regular
expressions, linear) dominates: about 1 s per megabyte of text on one core (20.7 MB, 4.6M
words, order 3: 22 s on a busy 2-core machine). The sorted keys and raw counts per order are the model's buffers
(safetensors); the vocabulary lives in the config (JSON). Scoring a text is one vectorised
pass per order (binary search in the sorted keys).

Generation continues a prompt token by token with, in this order: the repetition penalty of
Keskar et al. (2019, CTRL), applied to log-probabilities (``theta * log p`` for tokens already
in the text, which lowers them as CTRL's division does for positive logits); the
no-repeat-n-gram ban (a token that would complete an n-gram already in the text gets
probability 0); temperature; top-k; and top-p (nucleus) truncation (Holtzman et al. 2020).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import chain
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..config import Settings, check
from ..errors import DataError, GenlabError
from .base import Model

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
SPECIALS = (BOS, EOS, UNK)  # ids 0, 1, 2
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
WORD = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")
NO_SPACE_BEFORE = re.compile(r" ([.,;:!?)\]}])")
NO_SPACE_AFTER = re.compile(r"([(\[{]) ")
F64 = torch.float64


@dataclass
class NGramSampling(Settings):
    """How text is drawn; the config holds the defaults, ``sample(**settings)`` and
    ``genlab sample --set`` override them for one call."""

    max_tokens: int = 40  # tokens generated per sample, sentence ends included
    temperature: float = 1.0  # < 1 sharpens the next-token distribution, > 1 flattens it
    top_k: int = 0  # 0 = no top-k truncation
    top_p: float = 1.0  # nucleus mass kept, in (0, 1]
    repetition_penalty: float = 1.0  # theta; 1 = none, > 1 discourages tokens already in the text
    no_repeat_ngram: int = 0  # size of n-grams that may not occur twice; 0 = no ban

    def __post_init__(self):
        super().__post_init__()
        check(self.max_tokens >= 1, f"max_tokens={self.max_tokens} must be at least 1")
        check(self.temperature > 0 and math.isfinite(self.temperature),
              f"temperature={self.temperature} must be positive")
        check(self.top_k >= 0, f"top_k={self.top_k} must be 0 (off) or positive")
        check(0 < self.top_p <= 1, f"top_p={self.top_p} must lie in (0, 1]")
        check(self.repetition_penalty > 0, f"repetition_penalty={self.repetition_penalty} must be positive")
        check(self.no_repeat_ngram >= 0, f"no_repeat_ngram={self.no_repeat_ngram} must be 0 (off) or positive")


@dataclass
class NGramConfig(NGramSampling):
    data_shape: tuple[int, ...] = ()  # text has no fixed shape; any other shape is refused
    order: int = 3  # n: a token depends on the n-1 before it
    level: Literal["word", "char"] = "word"  # tokens are words or characters
    smoothing: Literal["kneser-ney", "add-k"] = "kneser-ney"  # interpolated modified KN, or add-k
    discount: float = 0.0  # kneser-ney: 0 = modified KN discounts from the data; else one fixed D in (0, 1)
    k: float = 0.01  # add-k pseudo-count
    min_count: int = 2  # rarer training tokens become <unk>
    lowercase: bool = False  # fold case before counting
    # learned by fit(); kept in the config so that config.json rebuilds the model
    vocab: tuple[str, ...] = ()  # the tokens kept by fit (filled by fit)
    table_sizes: tuple[int, ...] = ()  # distinct m-grams of each order m = 1..n

    def __post_init__(self):
        super().__post_init__()
        self.data_shape, self.vocab = tuple(self.data_shape), tuple(self.vocab)
        self.table_sizes = tuple(self.table_sizes)
        check(self.data_shape == (), f"ngram models text (--data text:PATH or kjv); got data of shape "
                                     f"{self.data_shape}")
        check(self.order >= 1, f"order={self.order} must be at least 1")
        check(self.level in ("word", "char"), f"level={self.level!r} is not one of 'word', 'char'")
        check(self.smoothing in ("kneser-ney", "add-k"), f"smoothing={self.smoothing!r} is not one of "
                                                        f"'kneser-ney', 'add-k'")
        check(0 <= self.discount < 1, f"discount={self.discount} must be 0 (estimated) or in (0, 1)")
        check(self.k > 0, f"k={self.k} must be positive")
        check(self.min_count >= 1, f"min_count={self.min_count} must be at least 1")
        check(len(self.table_sizes) in (0, self.order),
              f"table_sizes={self.table_sizes} does not fit order={self.order} (filled by fit)")


# --- tokenisation -------------------------------------------------------------------------

def sentences(text: str) -> list[str]:
    """Sentences of ``text``: whitespace collapsed, cut after . ! ? (and closing quotes)."""
    text = " ".join(text.split())
    return [s for s in SENTENCE_END.split(text) if s]


def tokenize(sentence: str, level: str, lowercase: bool) -> list[str]:
    if lowercase:
        sentence = sentence.lower()
    return WORD.findall(sentence) if level == "word" else list(sentence)


def detokenize(tokens: list[str], level: str) -> str:
    """Tokens (``</s>`` ends a sentence) back to readable text."""
    out, sentence = [], []
    for t in tokens + [EOS]:
        if t == EOS:
            if sentence:
                out.append(("".join if level == "char" else " ".join)(sentence))
            sentence = []
        else:
            sentence.append(t)
    text = " ".join(out)
    return text if level == "char" else NO_SPACE_AFTER.sub(r"\1", NO_SPACE_BEFORE.sub(r"\1", text))


# --- counting -----------------------------------------------------------------------------

def count_ngrams(stream: np.ndarray, order: int, vocab_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(sorted keys, raw counts) of the m-grams of ``stream`` for m = 1..order.

    The key of an m-gram is ``id(its first m-1 tokens) * V + last token``, where the id of a
    gram is its index among the sorted keys of its order (the empty context has id 0). Grams
    crossing a sentence (``</s>`` before the last place) are left out; grams ending in ``<s>``
    are kept as contexts with count 0. O(L log L) per order.
    """
    eos_id = SPECIALS.index(EOS)
    predicted = stream != SPECIALS.index(BOS)
    tables, ids, valid = [], None, np.ones(len(stream), dtype=bool)
    for m in range(1, order + 1):
        key = np.full(len(stream), -1, dtype=np.int64)
        if m == 1:
            key[:] = stream
        else:
            valid = np.concatenate([[False], valid[:-1] & (stream[:-1] != eos_id)])
            key[valid] = ids[np.flatnonzero(valid) - 1] * vocab_size + stream[valid]
        keys, inverse = np.unique(key[valid], return_inverse=True)
        counts = np.bincount(inverse[predicted[valid]], minlength=len(keys))
        ids = np.full(len(stream), -1, dtype=np.int64)
        ids[valid] = inverse
        tables.append((keys, counts.astype(np.int64)))
    return tables


def lookup(keys: torch.Tensor, ctx: torch.Tensor, token: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Ids of the grams (ctx, token) among sorted ``keys``; -1 where absent or ctx is -1."""
    if len(keys) == 0:
        return torch.full_like(ctx, -1)
    key = ctx * vocab_size + token
    pos = torch.searchsorted(keys, key).clamp_(max=len(keys) - 1)
    return torch.where((ctx >= 0) & (keys[pos] == key), pos, -1)


def modified_discounts(counts: torch.Tensor) -> torch.Tensor:
    """D1, D2, D3+ of modified Kneser-Ney (Chen & Goodman 1998) from the counts of counts n1..n4:
    Y = n1 / (n1 + 2 n2), D_k = k - (k + 1) Y n_{k+1} / n_k; where a count of counts is zero
    or D_k falls outside (0, k), the single discount Y (or 0.5) stands in."""
    n = [float((counts == k).sum()) for k in (1, 2, 3, 4)]
    y = n[0] / (n[0] + 2 * n[1]) if n[0] + 2 * n[1] > 0 else 0.5
    y = y if 0 < y < 1 else 0.5
    out = []
    for k in (1, 2, 3):
        d = k - (k + 1) * y * n[k] / n[k - 1] if n[k - 1] > 0 else y
        out.append(d if 0 < d < k else y)
    return torch.tensor(out, dtype=F64)


# --- the model ------------------------------------------------------------------------------

class NGram(Model):
    """An order-n Markov model of words or characters: Kneser-Ney or add-k smoothing."""

    name = "ngram"
    Config = NGramConfig
    data_kinds = ("text",)  # the only data it takes; its samples are strings
    fitted = True
    precisions = ("fp32",)  # counts, not networks
    likelihood = True
    Sampling = NGramSampling
    learned_config = ("vocab", "table_sizes")

    def __init__(self, config: NGramConfig):
        super().__init__(config)
        for m, size in enumerate(config.table_sizes, start=1):
            self.register_buffer(f"keys_{m}", torch.zeros(size, dtype=torch.long))
            self.register_buffer(f"counts_{m}", torch.zeros(size, dtype=torch.long))
        self._index = {t: i for i, t in enumerate(config.vocab)}
        self._tables: list[dict] | None = None  # derived from the buffers on first use

    @property
    def vocab_size(self) -> int:
        return len(self.config.vocab)

    # --- fitting ------------------------------------------------------------------------

    @torch.no_grad()
    def fit(self, texts) -> NGram:
        """Count the n-grams of ``texts`` (a string or a sequence of strings, e.g. paragraphs)."""
        tokenized = self._tokenized(self._texts(texts))
        frequency = Counter(chain.from_iterable(tokenized))
        kept = sorted((t for t, c in frequency.items() if c >= self.config.min_count and t not in SPECIALS),
                      key=lambda t: (-frequency[t], t))
        self._set_vocab((*SPECIALS, *kept))
        tables = count_ngrams(self._stream(tokenized), self.config.order, self.vocab_size)
        self.config.table_sizes = tuple(len(keys) for keys, _ in tables)
        for m, (keys, counts) in enumerate(tables, start=1):
            self.register_buffer(f"keys_{m}", torch.from_numpy(keys))
            self.register_buffer(f"counts_{m}", torch.from_numpy(counts))
        self._tables = None
        return self

    def check_data(self, data) -> None:
        """Refuse data that cannot be fitted, before a run writes any file."""
        texts = self._texts(data.texts if data.kind == "text" else data.x)
        if sum(len(t.split()) for t in texts) < self.config.order:  # cheap: every word gives a token or more
            self._tokenized(texts)

    def _tokenized(self, texts: list[str]) -> list[list[str]]:
        tokenized = [tokenize(s, self.config.level, self.config.lowercase) for t in texts for s in sentences(t)]
        total = sum(map(len, tokenized))
        if total < self.config.order:
            raise DataError(f"the training text has {total} tokens, fewer than order={self.config.order}")
        return tokenized

    def _texts(self, texts) -> list[str]:
        if isinstance(texts, str):
            texts = [texts]
        if isinstance(texts, torch.Tensor) or not all(isinstance(t, str) for t in texts):
            raise DataError("ngram fits text: a string or a list of strings (use --data text:PATH or kjv)")
        if not any(t.strip() for t in texts):
            raise DataError("the text is empty")
        return list(texts)

    def _set_vocab(self, vocab: tuple[str, ...]) -> None:
        self.config.vocab = vocab
        self._index = {t: i for i, t in enumerate(vocab)}

    def _ids(self, tokens: list[str]) -> list[int]:
        unk = SPECIALS.index(UNK)
        return [self._index.get(t, unk) for t in tokens]

    def _stream(self, tokenized: list[list[str]]) -> np.ndarray:
        """One int64 array: per sentence n-1 ``<s>``, its token ids, ``</s>``."""
        pad = [SPECIALS.index(BOS)] * (self.config.order - 1)
        out: list[int] = []
        for sentence in tokenized:
            out += pad + self._ids(sentence) + [SPECIALS.index(EOS)]
        return np.asarray(out, dtype=np.int64)

    # --- the probability tables ---------------------------------------------------------

    def tables(self) -> list[dict]:
        """Per order m: sorted ``keys``, ``word`` and ``ctx`` of every gram, the discounted
        numerator ``num``, and per context the normaliser ``total`` and back-off weight ``gamma``."""
        self._check_fitted()
        if self._tables is None:
            self._tables = self._derive()
            for table in self._tables:  # numpy views for the token-by-token path (less overhead)
                table.update({f"{k}_np": table[k].numpy() for k in ("keys", "word", "num", "total")})
        return self._tables

    def _derive(self) -> list[dict]:
        n, v = self.config.order, self.vocab_size
        keys = [getattr(self, f"keys_{m}").cpu() for m in range(1, n + 1)]
        raw = [getattr(self, f"counts_{m}").cpu().to(F64) for m in range(1, n + 1)]
        first = [keys[0]]  # the first token of every gram, to spot grams that start with <s>
        for m in range(1, n):
            first.append(first[m - 1][keys[m] // v])
        adjusted = list(raw)
        if self.config.smoothing == "kneser-ney":
            for m in range(n - 1):  # continuation counts N1+(. g) for every order below n
                suffix = self._suffix_ids(keys, m + 1)  # id in order m+1 of each (m+2)-gram's suffix
                seen = raw[m + 1] > 0
                cont = torch.bincount(suffix[seen], minlength=len(keys[m])).to(F64)
                adjusted[m] = torch.where(first[m] == SPECIALS.index(BOS), raw[m], cont)
        out = []
        for m in range(n):
            contexts = 1 if m == 0 else len(keys[m - 1])
            ctx, word = keys[m] // v, keys[m] % v
            table = {"keys": keys[m], "ctx": ctx, "word": word}
            if self.config.smoothing == "add-k":
                table["num"], table["total"] = adjusted[m], torch.bincount(ctx, adjusted[m], minlength=contexts)
            else:
                table.update(self._kneser_ney(adjusted[m], ctx, contexts))
            out.append(table)
        return out

    def _suffix_ids(self, keys: list[torch.Tensor], m: int) -> torch.Tensor:
        """For every gram of order m+1 (index m), the id of its last m tokens in order m."""
        v = self.vocab_size
        tokens = [keys[0]]  # tokens[j][g]: token j of gram g, built order by order
        for level in range(1, m + 1):
            ctx = keys[level] // v
            tokens = [t[ctx] for t in tokens] + [keys[level] % v]
        ids = torch.zeros_like(tokens[1])
        for j, t in enumerate(tokens[1:]):
            ids = lookup(keys[j], ids, t, v)
        return ids

    def _kneser_ney(self, a: torch.Tensor, ctx: torch.Tensor, contexts: int) -> dict:
        if self.config.discount > 0:
            d = torch.full((3,), self.config.discount, dtype=F64)
        else:
            d = modified_discounts(a)
        d_of = torch.where(a >= 3, d[2], torch.where(a == 2, d[1], torch.where(a == 1, d[0], 0.0)))
        total = torch.bincount(ctx, a, minlength=contexts)
        removed = torch.bincount(ctx, d_of, minlength=contexts)
        gamma = torch.where(total > 0, removed / total.clamp(min=1e-300), torch.zeros_like(total))
        return {"num": (a - d_of).clamp(min=0), "total": total, "gamma": gamma}

    # --- probabilities ------------------------------------------------------------------

    def gram_id(self, tokens: list[int]) -> int:
        """The id of the gram ``tokens`` among the grams of its order, or -1 if unseen."""
        tables, v, g = self.tables(), self.vocab_size, 0
        for j, t in enumerate(tokens):
            keys, key = tables[j]["keys_np"], g * v + t
            g = int(np.searchsorted(keys, key))
            if g >= len(keys) or keys[g] != key:
                return -1
        return g

    def next_token_probs(self, history: list[int]) -> torch.Tensor:
        """p(. | the last n-1 ids of ``history``) over the whole vocabulary: (V,) float64,
        zero at ``<s>``. ``history`` must hold at least n-1 ids (pad with ``<s>``)."""
        tables, v, n = self.tables(), self.vocab_size, self.config.order
        p = np.full(v, 1.0 / (v - 1))  # the uniform base over every token but <s>
        p[SPECIALS.index(BOS)] = 0
        for m in range(1 if self.config.smoothing == "kneser-ney" else n, n + 1):
            table = tables[m - 1]
            h = self.gram_id(history[len(history) - m + 1:]) if m > 1 else 0
            if h < 0 or table["total_np"][h] <= 0:
                continue
            lo, hi = np.searchsorted(table["keys_np"], [h * v, (h + 1) * v])
            dense = np.zeros(v)
            dense[table["word_np"][lo:hi]] = table["num_np"][lo:hi]
            if self.config.smoothing == "add-k":
                k = self.config.k
                p = (dense + k) / (table["total_np"][h] + k * (v - 1))
                p[SPECIALS.index(BOS)] = 0
            else:
                p = dense / table["total_np"][h] + float(table["gamma"][h]) * p
        return torch.from_numpy(p)

    def _token_log_probs(self, stream: torch.Tensor) -> torch.Tensor:
        """log2 p of every predicted token (not ``<s>``) of a padded stream, vectorised."""
        tables, v, n = self.tables(), self.vocab_size, self.config.order
        if len(stream) == 0:
            return torch.zeros(0, dtype=F64)
        ids, contexts, ctx = [], [], torch.zeros_like(stream)
        for m in range(n):  # ids[m][j]: the id of the (m+1)-gram ending at j (-1: unseen); contexts[m]: of its context
            contexts.append(ctx)
            ids.append(lookup(tables[m]["keys"], ctx, stream, v))
            ctx = torch.cat([torch.full((1,), -1), ids[m][:-1]])
        target = stream != SPECIALS.index(BOS)
        p = torch.full(stream.shape, 1.0 / (v - 1), dtype=F64)
        for m in range(n):
            if self.config.smoothing == "add-k" and m < n - 1:
                continue
            table, h, g = tables[m], contexts[m], ids[m]
            total = torch.where(h >= 0, table["total"][h.clamp(min=0)], torch.zeros((), dtype=F64))
            num = torch.where(g >= 0, table["num"][g.clamp(min=0)], torch.zeros((), dtype=F64))
            seen = total > 0
            if self.config.smoothing == "add-k":
                k = self.config.k
                p = (num + k) / (total + k * (v - 1))
            else:
                gamma = table["gamma"][h.clamp(min=0)]
                p = torch.where(seen, num / total.clamp(min=1e-300) + gamma * p, p)
        return p[target].log2()

    def encode(self, texts) -> torch.Tensor:
        """The padded id stream of ``texts`` (a string or a list of strings): (L,) int64."""
        self._check_fitted()
        texts = [texts] if isinstance(texts, str) else list(texts)
        tokenized = [tokenize(s, self.config.level, self.config.lowercase) for t in texts for s in sentences(t)]
        return torch.from_numpy(self._stream(tokenized))

    @torch.no_grad()
    def log_prob(self, texts) -> torch.Tensor:
        """log p (nats) of each text in ``texts``, sentence ends included: (N,) float64."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        return torch.stack([self._token_log_probs(self.encode(t)).sum() * math.log(2) for t in texts])

    @torch.no_grad()
    def cross_entropy(self, texts) -> tuple[float, int]:
        """Bits per token on ``texts`` (every token and sentence end, not ``<s>``), and the count."""
        bits = self._token_log_probs(self.encode(texts))
        if len(bits) == 0:
            raise DataError("the held-out text has no tokens")
        return float(-bits.mean()), len(bits)

    def perplexity(self, texts) -> float:
        return 2 ** self.cross_entropy(texts)[0]

    @torch.no_grad()
    def evaluate(self, data) -> dict[str, float]:
        """Held-out cross-entropy in bits per token and perplexity (2 ** bits), with ``<unk>``
        counted as a token of the training vocabulary."""
        texts = data.texts
        if texts is None:
            raise DataError(f"ngram scores text; {data.name} holds no text")
        bits, count = self.cross_entropy(texts)
        return {"bits_per_token": bits, "perplexity": 2 ** bits, "tokens": float(count)}

    # --- generation ---------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, labels=None, generator: torch.Generator | None = None,
               prompt: str = "", **settings) -> list[str]:
        """``n`` texts, each ``prompt`` continued by ``max_tokens`` tokens; ``settings``
        override the config's sampling settings (temperature, top_k, top_p, ...)."""
        self._check_labels(n, labels)
        check(isinstance(n, int) and n >= 0, f"n={n!r} must be a non-negative integer")
        return [self.generate(prompt, generator=generator, **settings) for _ in range(n)]

    @torch.no_grad()
    def generate(self, prompt: str = "", *, generator: torch.Generator | None = None, **settings) -> str:
        """``prompt`` and its continuation as text."""
        ids = self.generate_ids(prompt, generator=generator, **settings)
        tokens = [self.config.vocab[i] for i in ids]
        text = detokenize(tokens, self.config.level)
        sep = " " if prompt and text and self.config.level == "word" and text[0] not in ".,;:!?)]}" else ""
        return prompt + sep + text

    def generate_ids(self, prompt: str = "", *, generator: torch.Generator | None = None,
                     **settings) -> list[int]:
        """The ids of up to ``max_tokens`` generated tokens (fewer only if the
        no-repeat-n-gram ban leaves nothing to draw)."""
        cfg = self.sampling(settings)
        history, emitted = self._prompt_ids(prompt)
        banned = NGramBan(cfg.no_repeat_ngram, emitted)
        out: list[int] = []
        for _ in range(cfg.max_tokens):
            logp = self.next_token_probs(history).log()
            if cfg.repetition_penalty != 1 and emitted:
                seen = torch.tensor(sorted(set(emitted)))
                logp[seen] = logp[seen] * cfg.repetition_penalty  # log p <= 0: theta > 1 lowers it
            if cfg.no_repeat_ngram:
                logp[banned.tokens()] = -math.inf
            token = draw(logp / cfg.temperature, cfg.top_k, cfg.top_p, generator)
            if token is None:
                break
            out.append(token)
            emitted.append(token)
            banned.add(emitted)
            history.append(token)
            if token == SPECIALS.index(EOS):
                history += [SPECIALS.index(BOS)] * (self.config.order - 1)
        return out

    def _prompt_ids(self, prompt: str) -> tuple[list[int], list[int]]:
        """(context history padded with <s>, the prompt's own ids) for a prompt that ends
        mid-sentence."""
        self._check_fitted()
        pad = [SPECIALS.index(BOS)] * (self.config.order - 1)
        history, emitted = list(pad), []
        parts = sentences(prompt)
        for i, sentence in enumerate(parts):
            ids = self._ids(tokenize(sentence, self.config.level, self.config.lowercase))
            if i < len(parts) - 1:
                ids.append(SPECIALS.index(EOS))
            history += ids + (pad if i < len(parts) - 1 else [])
            emitted += ids
        return history, emitted

    def _check_fitted(self) -> None:
        if not self.config.table_sizes:
            raise GenlabError("ngram has no counts yet; call fit() first (genlab train ngram --data text:PATH)")


class NGramBan:
    """Tokens that would complete an n-gram already present (no-repeat-n-gram size ``size``):
    a map from each (size-1)-gram to the tokens that have followed it, updated per token."""

    def __init__(self, size: int, emitted: list[int]):
        self.size, self.followers = size, {}
        self.last: list[int] = []
        for i in range(1, len(emitted) + 1):
            self.add(emitted[:i])

    def add(self, emitted: list[int]) -> None:
        if self.size and len(emitted) >= self.size:
            gram = emitted[-self.size:]
            self.followers.setdefault(tuple(gram[:-1]), set()).add(gram[-1])
        self.last = emitted[len(emitted) - self.size + 1:] if self.size > 1 else []

    def tokens(self) -> list[int]:
        return sorted(self.followers.get(tuple(self.last), ())) if self.size else []


def draw(logits: torch.Tensor, top_k: int, top_p: float, generator: torch.Generator | None) -> int | None:
    """One token from softmax(logits) after top-k and nucleus truncation; None if every
    logit is -inf."""
    if not bool(torch.isfinite(logits).any()):
        return None
    if top_k:
        kth = torch.topk(logits, min(top_k, len(logits))).values[-1]
        logits = logits.masked_fill(logits < kth, -math.inf)
    probs = torch.softmax(logits, 0)
    if top_p < 1:
        # the smallest set of most probable tokens whose mass reaches top_p (Holtzman et al. 2020)
        sorted_p, order = probs.sort(descending=True)
        outside = sorted_p.cumsum(0) - sorted_p >= top_p  # mass before this token already enough
        probs = probs.clone()
        probs[order[outside]] = 0
    # inverse-CDF draw: one uniform from ``generator``, and much cheaper than multinomial here
    cdf = probs.cumsum(0)
    u = torch.rand((), generator=generator, dtype=cdf.dtype) * cdf[-1]
    return min(int(torch.searchsorted(cdf, u, right=True)), len(cdf) - 1)

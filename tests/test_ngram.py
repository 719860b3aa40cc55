"""The n-gram text model: a true distribution, Kneser-Ney against add-k on real text, the
repetition controls, text data and the CLI's one-line errors."""

import math
from collections import Counter, defaultdict

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genlab
from genlab.errors import ConfigError, DataError
from genlab.models.ngram import BOS, EOS, NGram, NGramConfig, SPECIALS
from conftest import assert_one_line_error, assert_succeeded, run_main

pytestmark = pytest.mark.usefixtures("one_thread")

ORDERS = (1, 2, 3, 4)
SMOOTHINGS = ({"smoothing": "kneser-ney"}, {"smoothing": "kneser-ney", "discount": 0.1},
              {"smoothing": "add-k", "k": 0.5})


@pytest.fixture(scope="module")
def kjv():
    """60 chapters of the King James Bible (about 40,000 words), split as every run splits."""
    return genlab.load_dataset("kjv", n=60, seed=0).split(0.2, seed=0)


@pytest.fixture(scope="module")
def models(kjv):
    """Every order and smoothing, at word and character level, fitted on the same text."""
    train, _ = kjv
    texts = train.texts[:15]
    return {(level, order, i): NGram(NGramConfig(order=order, level=level, **smoothing)).fit(texts)
            for level in ("word", "char") for order in ORDERS for i, smoothing in enumerate(SMOOTHINGS)}


def trained(kjv, **config) -> NGram:
    return NGram(NGramConfig(**config)).fit(kjv[0].texts)


# --- a true distribution ----------------------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.tuples(st.sampled_from(("word", "char")), st.sampled_from(ORDERS), st.integers(0, len(SMOOTHINGS) - 1)),
       data=st.data())
def test_next_token_probabilities_sum_to_one(models, key, data):
    """For random contexts, seen in training or made of random tokens, p(. | context) over
    the whole vocabulary sums to 1 within 1e-9, is never negative, and is 0 at <s>."""
    model = models[key]
    n, v = model.config.order, model.vocab_size
    if data.draw(st.booleans(), label="seen context"):
        stream = model.encode("In the beginning God created the heaven and the earth.")
        start = data.draw(st.integers(0, len(stream) - n), label="start")
        context = stream[start:start + n - 1].tolist()
    else:
        context = data.draw(st.lists(st.integers(0, v - 1), min_size=n - 1, max_size=n - 1), label="context")
    p = model.next_token_probs(context)
    assert p.shape == (v,) and p.dtype == torch.float64
    assert abs(float(p.sum()) - 1) < 1e-9
    assert bool((p >= 0).all()) and float(p[SPECIALS.index(BOS)]) == 0


@pytest.mark.parametrize("level", ["word", "char"])
def test_scoring_agrees_with_the_next_token_distribution(models, kjv, level):
    """The vectorised held-out scoring gives each token the probability that the full
    next-token distribution gives it."""
    for order in ORDERS:
        for i in range(len(SMOOTHINGS)):
            model = models[(level, order, i)]
            stream = model.encode(kjv[1].texts[0][:300]).tolist()
            scored = model._token_log_probs(torch.tensor(stream)).tolist()
            positions = [j for j, t in enumerate(stream) if t != SPECIALS.index(BOS)]
            for j, bits in list(zip(positions, scored))[:25]:
                p = model.next_token_probs(stream[j - order + 1:j] if order > 1 else [])[stream[j]]
                assert math.isclose(float(p.log2()), bits, rel_tol=1e-9, abs_tol=1e-12)


def reference_kneser_ney(sentences, order, discount):
    """Interpolated KN with one fixed discount, written plainly with dictionaries."""
    counts = [Counter() for _ in range(order + 1)]
    for s in sentences:
        padded = [BOS] * (order - 1) + s + [EOS]
        for j in range(order - 1, len(padded)):
            counts[order][tuple(padded[j - order + 1:j + 1])] += 1
    for m in range(order - 1, 0, -1):  # continuation counts; grams that start with <s> keep raw counts
        left = defaultdict(set)
        for gram in counts[m + 1]:
            left[gram[1:]].add(gram[0])
        raw = Counter()
        for s in sentences:
            padded = [BOS] * (order - 1) + s + [EOS]
            for j in range(order - 1, len(padded)):
                raw[tuple(padded[j - m + 1:j + 1])] += 1
        counts[m] = Counter({g: (raw[g] if g[0] == BOS else len(left[g])) for g in raw})
    vocab = sorted({w for s in sentences for w in s} | {EOS, "<unk>"})

    def prob(word, context):
        p = 1 / len(vocab)
        for m in range(1, order + 1):
            h = tuple(context[len(context) - m + 1:]) if m > 1 else ()
            total = sum(c for g, c in counts[m].items() if g[:-1] == h)
            if total == 0:
                continue
            types = sum(1 for g in counts[m] if g[:-1] == h)
            p = max(counts[m][h + (word,)] - discount, 0) / total + discount * types / total * p
        return p

    return prob, vocab


@pytest.mark.parametrize("order", [1, 2, 3])
def test_kneser_ney_matches_a_plain_reference(order):
    text = "the cat sat on the mat. the dog sat on the cat. a cat and a dog sat. the end came."
    model = NGram(NGramConfig(order=order, discount=0.3, min_count=1)).fit(text)
    sentences = [s.split() for s in ["the cat sat on the mat .", "the dog sat on the cat .",
                                     "a cat and a dog sat .", "the end came ."]]
    prob, vocab = reference_kneser_ney(sentences, order, 0.3)
    assert sorted(set(model.config.vocab) - {BOS}) == vocab
    for context in ([BOS, BOS], ["the", "cat"], [BOS, "the"], ["sat", "on"], ["dog", "dog"]):
        context = context[len(context) - order + 1:] if order > 1 else []
        p = model.next_token_probs([model.config.vocab.index(t) for t in context])
        for word in vocab:
            assert math.isclose(float(p[model.config.vocab.index(word)]), prob(word, context), rel_tol=1e-12)


# --- text data and real text --------------------------------------------------------------------

def test_a_text_file_gives_one_example_per_paragraph(tmp_path):
    (tmp_path / "a.txt").write_text("\ufeffFirst line one\nline two.\n\nSecond.\n \n\nThird.\n", encoding="utf-8")
    data = genlab.load_dataset(f"text:{tmp_path}/a.txt")
    assert data.kind == "text" and data.texts == ("First line one\nline two.", "Second.", "Third.")
    assert data.x.tolist() == [0, 1, 2]
    (tmp_path / "b.txt").write_text("one\ntwo\nthree\n")
    assert genlab.load_dataset(str(tmp_path / "b.txt")).texts == ("one", "two", "three")  # no blank lines


def test_the_split_holds_out_whole_paragraphs(kjv):
    train, test = kjv
    assert (len(train.texts), len(test.texts)) == (48, 12) == (len(train), len(test))
    assert set(train.texts).isdisjoint(test.texts)
    assert sum(len(t.split()) for t in train.texts + test.texts) > 30_000


def test_kneser_ney_beats_add_k_on_held_out_text(kjv):
    train, test = kjv
    kn = genlab.create("ngram", data=train, order=3)
    genlab.train(kn, train)
    figures = kn.evaluate(test)
    assert figures["perplexity"] == pytest.approx(2 ** figures["bits_per_token"])
    for k in (1.0, 0.1, 0.01, 0.001):
        add_k = genlab.create("ngram", data=train, order=3, smoothing="add-k", k=k)
        genlab.train(add_k, train)
        assert figures["perplexity"] < 0.8 * add_k.evaluate(test)["perplexity"], k
    bigram = genlab.create("ngram", data=train, order=2)
    genlab.train(bigram, train)
    assert figures["perplexity"] < bigram.evaluate(test)["perplexity"]


def test_log_prob_is_the_sum_of_token_log_probs(kjv):
    model = trained(kjv, order=2)
    text = kjv[1].texts[0]
    nats = float(model.log_prob([text])[0])
    bits, count = model.cross_entropy([text])
    assert nats == pytest.approx(-bits * count * math.log(2), rel=1e-9)


# --- generation ---------------------------------------------------------------------------------

def repeated_kgrams(ids: list[int], k: int) -> int:
    grams = Counter(tuple(ids[i:i + k]) for i in range(len(ids) - k + 1))
    return sum(c - 1 for c in grams.values() if c > 1)


@pytest.mark.parametrize("k", [2, 3])
def test_no_repeat_ngram_leaves_no_repeated_kgram_in_1000_tokens(kjv, k):
    model = trained(kjv, order=3)
    free = model.generate_ids(max_tokens=1000, generator=torch.Generator().manual_seed(0))
    assert repeated_kgrams(free, k) > 10  # without the ban the text does repeat itself
    ids = model.generate_ids(max_tokens=1000, no_repeat_ngram=k, generator=torch.Generator().manual_seed(0))
    assert len(ids) == 1000
    assert repeated_kgrams(ids, k) == 0


def repeated_token_rate(samples: list[list[int]]) -> float:
    """The share of tokens (sentence ends aside) that already occurred earlier in their sample."""
    repeats = total = 0
    for ids in samples:
        seen = set()
        for t in ids:
            if t != SPECIALS.index(EOS):
                repeats, total = repeats + (t in seen), total + 1
                seen.add(t)
    return repeats / total


def test_repetition_penalty_lowers_the_repeated_token_rate(kjv):
    model = trained(kjv, order=3)

    def rate(theta: float) -> float:
        g = torch.Generator().manual_seed(0)
        return repeated_token_rate([model.generate_ids(max_tokens=60, repetition_penalty=theta, generator=g)
                                    for _ in range(20)])

    plain, penalised = rate(1.0), rate(1.5)
    print(f"repeated-token rate: {plain:.3f} without penalty, {penalised:.3f} with theta = 1.5")
    assert penalised < plain - 0.1, (plain, penalised)


def test_sampling_settings_change_the_text_and_are_seeded(kjv):
    model = trained(kjv, order=3)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    greedy = model.sample(3, prompt="And God said", top_k=1, generator=g())
    assert len(set(greedy)) == 1 and greedy[0].startswith("And God said")
    cold = model.sample(4, prompt="And", temperature=0.3, top_p=0.9, generator=g())
    assert cold == model.sample(4, prompt="And", temperature=0.3, top_p=0.9, generator=g())
    assert cold != model.sample(4, prompt="And", temperature=2.0, generator=g())


def test_nucleus_keeps_only_the_top_mass(kjv):
    from genlab.models.ngram import draw

    logits = torch.tensor([0.5, 0.3, 0.15, 0.05], dtype=torch.float64).log()
    g = torch.Generator().manual_seed(0)
    drawn = Counter(draw(logits, 0, 0.7, g) for _ in range(400))
    assert set(drawn) == {0, 1}  # 0.5 < 0.7 <= 0.5 + 0.3
    assert set(Counter(draw(logits, 2, 1.0, g) for _ in range(400))) == {0, 1}


def test_character_level_round_trip_and_unknown_tokens(kjv):
    model = trained(kjv, order=4, level="char")
    assert all(len(t) == 1 for t in model.config.vocab[len(SPECIALS):])
    text = model.sample(1, prompt="And", generator=torch.Generator().manual_seed(0))[0]
    assert text.startswith("And") and len(text) > 10
    word = trained(kjv, order=2, min_count=3)
    assert word.encode("zyzzyva qwxv").tolist().count(SPECIALS.index("<unk>")) == 2


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("values, words", [
    ({"order": 0}, ["order", "0"]),
    ({"top_p": 0.0}, ["top_p", "(0, 1]"]),
    ({"top_p": 1.5}, ["top_p", "(0, 1]"]),
    ({"temperature": 0.0}, ["temperature"]),
    ({"temperature": -1.0}, ["temperature"]),
    ({"data_shape": (2,)}, ["text"]),
])
def test_bad_config_is_one_clear_error(values, words):
    with pytest.raises(ConfigError) as info:
        NGramConfig(**values)
    assert all(w in str(info.value) for w in words) and "\n" not in str(info.value)


def test_bad_text_is_one_clear_error(kjv):
    with pytest.raises(DataError, match="fewer than order=5"):
        NGram(NGramConfig(order=5)).fit("two words")
    with pytest.raises(DataError, match="empty"):
        NGram(NGramConfig()).fit(["", "  \n"])
    with pytest.raises(DataError, match="text"):
        NGram(NGramConfig()).fit(torch.zeros(3, 2))
    with pytest.raises(ConfigError, match="top_p"):
        trained(kjv, order=2).sample(1, top_p=2.0)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "tale.txt").write_text("\n\n".join(genlab.load_dataset("kjv", n=12, seed=1).texts), encoding="utf-8")
    (tmp_path / "empty.txt").write_text("  \n\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait\n\nencore\n\nfin\n".encode("latin-1"))
    (tmp_path / "short.txt").write_text("one\n\ntwo\n\nthree\n\nfour\n\nfive\n")
    return tmp_path


@pytest.mark.parametrize("args, words", [
    (["--data", "text:{d}/empty.txt"], ["empty", "empty.txt"]),
    (["--data", "text:{d}/latin1.txt"], ["utf-8", "latin1.txt"]),
    (["--data", "text:{d}/missing.txt"], ["not found", "missing.txt"]),
    (["--data", "text:{d}/short.txt", "--set", "order=5"], ["fewer than order=5"]),
    (["--data", "text:{d}/tale.txt", "--set", "order=0"], ["order"]),
    (["--data", "text:{d}/tale.txt", "--set", "top_p=1.5"], ["top_p"]),
    (["--data", "text:{d}/tale.txt", "--set", "temperature=0"], ["temperature"]),
    (["--data", "ring8"], ["ngram", "text"]),
])
def test_cli_train_errors_are_one_line(capsys, files, args, words):
    out = files / "run"
    result = run_main(capsys, "train", "ngram", *[a.format(d=files) for a in args], "--out", out)
    assert_one_line_error(result, *words)
    assert not out.exists()


def test_cli_train_sample_eval(capsys, files):
    run = files / "run"
    assert_succeeded(run_main(capsys, "train", "ngram", "--data", f"text:{files}/tale.txt", "--set", "order=3",
                              "--out", run))
    assert (run / "samples.txt").read_text().count("\n") == 10
    out = files / "s.txt"
    assert_succeeded(run_main(capsys, "sample", run, "-n", "4", "--prompt", "And the LORD", "--set", "top_k=5",
                              "--set", "no_repeat_ngram=2", "--out", out))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and all(line.startswith("And the LORD") for line in lines)
    for flags, words in ((["--set", "top_p=0"], ["top_p"]), (["--set", "temperature=-1"], ["temperature"]),
                         (["--set", "beam=3"], ["beam"]), ([], ["FILE.txt"])):
        target = out if flags else files / "s.png"
        assert_one_line_error(run_main(capsys, "sample", run, *flags, "--out", target), *words)
    result = run_main(capsys, "eval", run)
    assert_succeeded(result)
    assert "perplexity" in result.stdout and "bits_per_token" in (run / "eval.json").read_text()


# --- modified Kneser-Ney: three discounts from the counts of counts --------------------------------

def test_modified_discounts_from_counts_of_counts_by_hand():
    """n1..n4 = 6, 3, 2, 1: Y = 6 / (6 + 2*3) = 1/2; D1 = 1 - 2 Y n2/n1 = 1/2,
    D2 = 2 - 3 Y n3/n2 = 1, D3+ = 3 - 4 Y n4/n3 = 2 (Chen & Goodman 1998, eq. 26)."""
    from genlab.models.ngram import modified_discounts

    counts = torch.tensor([1] * 6 + [2] * 3 + [3] * 2 + [4] + [7, 9])
    assert modified_discounts(counts).tolist() == [0.5, 1.0, 2.0]


def modified_reference(sentences, order):
    """Interpolated modified KN written plainly: each order's D1, D2, D3+ from the counts of
    counts of its own (continuation) counts, and gamma(h) = sum_g D(c_g) / c(h)."""
    _, vocab = reference_kneser_ney(sentences, order, 0.5)
    counts = [Counter() for _ in range(order + 1)]
    for s in sentences:  # raw counts of every order, then continuation counts below the top
        padded = [BOS] * (order - 1) + s + [EOS]
        for m in range(1, order + 1):
            for j in range(order - 1, len(padded)):
                counts[m][tuple(padded[j - m + 1:j + 1])] += 1
    for m in range(order - 1, 0, -1):
        left = defaultdict(set)
        for gram in counts[m + 1]:
            left[gram[1:]].add(gram[0])
        counts[m] = Counter({g: (c if g[0] == BOS else len(left[g])) for g, c in counts[m].items()})

    def discounts(m):
        n = [sum(1 for c in counts[m].values() if c == k) for k in (1, 2, 3, 4)]
        y = n[0] / (n[0] + 2 * n[1])
        return [k - (k + 1) * y * n[k] / n[k - 1] for k in (1, 2, 3)]

    d = {m: discounts(m) for m in range(1, order + 1)}
    assert all(0 < d[m][k] < k + 1 for m in d for k in range(3)), d  # no fallback on this corpus

    def prob(word, context):
        p = 1 / len(vocab)
        for m in range(1, order + 1):
            h = tuple(context[len(context) - m + 1:]) if m > 1 else ()
            grams = {g: c for g, c in counts[m].items() if g[:-1] == h}
            total = sum(grams.values())
            if total == 0:
                continue
            of = lambda c: d[m][min(c, 3) - 1]  # noqa: E731
            removed = sum(of(c) for c in grams.values())
            c = grams.get(h + (word,), 0)
            p = (max(c - of(c), 0) if c else 0) / total + removed / total * p
        return p

    return prob, vocab


@pytest.mark.parametrize("order", [2, 3])
def test_modified_kneser_ney_matches_a_plain_reference_with_three_discounts(order):
    # 40 seeded sentences over 14 words with Zipf-like frequencies: the counts of counts n1..n4
    # are all present at every order, so each order has three discounts of its own
    words = "the cat sat on a mat dog ran to end big red sun set".split()
    g = torch.Generator().manual_seed(0)
    weights = 1 / torch.arange(1, len(words) + 1, dtype=torch.float64)
    sentences = [[words[i] for i in torch.multinomial(weights, int(torch.randint(2, 7, (1,), generator=g)),
                                                      replacement=True, generator=g)] + ["."] for _ in range(40)]
    text = " ".join(" ".join(s) for s in sentences)
    model = NGram(NGramConfig(order=order, min_count=1)).fit(text)
    prob, vocab = modified_reference(sentences, order)
    assert sorted(set(model.config.vocab) - {BOS}) == vocab
    for context in ([BOS, BOS], ["the", "cat"], [BOS, "the"], ["sat", "on"], ["a", "dog"]):
        context = context[len(context) - order + 1:]
        p = model.next_token_probs([model.config.vocab.index(t) for t in context])
        for word in vocab:
            assert math.isclose(float(p[model.config.vocab.index(word)]), prob(word, context), rel_tol=1e-12), \
                (context, word)

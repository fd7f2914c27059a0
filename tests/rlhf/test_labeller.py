"""The corpus, its tokenizer and the hidden labeller (gold score, Bradley-Terry preferences)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.rlhf import corpus, labeller

MAX_LEN = 24
# One compiled scorer for every test (an unjitted call would compile its scan on every call).
gold_score = jax.jit(labeller.gold_score)


def test_encode_decode_round_trip():
    text = "the food was very great but the price was not cheap"
    ids = corpus.encode(text, MAX_LEN)
    assert ids.shape == (MAX_LEN,) and ids.dtype == np.int32
    assert ids[0] == corpus.BOS_ID and ids[12] == corpus.EOS_ID
    assert (ids[13:] == corpus.PAD_ID).all()
    assert corpus.decode(ids) == text


def test_decode_marks_a_sequence_cut_off_without_eos():
    ids = corpus.encode("the room was okay", 6)
    ids[5] = corpus.TOKEN_ID["and"]
    assert corpus.decode(ids) == "the room was okay and ..."


@pytest.mark.parametrize(
    "text, max_len, message",
    [("the food was tasty", MAX_LEN, "unknown word 'tasty'"), ("the food was good", 5, "max_len")],
)
def test_encode_rejects_bad_input(text, max_len, message):
    with pytest.raises(ValueError, match=message):
        corpus.encode(text, max_len)


def test_corpus_is_deterministic_per_seed_and_grammatical():
    first, again, other = (corpus.generate_corpus(200, seed) for seed in (3, 3, 4))
    assert first == again and first != other
    scores = [labeller.parse_review(text) for text in first]
    assert None not in scores
    assert all(len(text.split()) + 2 <= corpus.LONGEST_SENTENCE for text in first)
    assert len(set(scores)) > 10


@pytest.mark.parametrize(
    "text, gold",
    [
        ("the room was okay", 0.0),
        ("the coffee was cold", -1.5),
        ("the room was cold", -0.3),
        ("the price was cheap", 1.5),
        ("the food was cheap", -1.0),
        ("the view was not awful", 1.0),
        ("the staff was very lovely", 2.25),
        # 2 * 1.5 = 3, halved by "but" to 1.5; then 1.5 * (-0.5 * 1.5) = -1.125.
        ("the food was very great but the price was not cheap", 0.375),
        # the second clause repeats "food": -1 whatever it says.
        ("the food was fresh and the food was great", 0.0),
        # (1 + 2) * 0.5 + 1.5 * -1 = 0.
        ("the view was good and the music was great but the staff was slow", 0.0),
        ("the food was", labeller.UNGRAMMATICAL_SCORE),
        ("the food was great and", labeller.UNGRAMMATICAL_SCORE),
        ("food was great", labeller.UNGRAMMATICAL_SCORE),
        ("the food was very not great", labeller.UNGRAMMATICAL_SCORE),
        ("", labeller.UNGRAMMATICAL_SCORE),
    ],
)
def test_gold_score_hand_worked(text, gold):
    assert labeller.reference_gold_score(text) == pytest.approx(gold)
    if len(text.split()) + 2 <= MAX_LEN:
        ids = corpus.encode(text, MAX_LEN)
        assert float(gold_score(jnp.asarray(ids))) == pytest.approx(gold, abs=1e-6)


def test_gold_score_cut_off_is_ungrammatical():
    ids = corpus.encode("the room was okay", MAX_LEN)
    ids[5:] = corpus.TOKEN_ID["very"]
    assert float(gold_score(jnp.asarray(ids))) == labeller.UNGRAMMATICAL_SCORE


def test_jitted_gold_score_matches_the_python_reference():
    rng = np.random.default_rng(0)
    tokens = corpus.corpus_tokens(300, seed=1, max_len=MAX_LEN)
    # Damaged copies: a word swapped for a random one, or a word deleted.
    damaged = tokens.copy()
    for row in damaged:
        length = int(np.argmax(row == corpus.EOS_ID))
        position = rng.integers(1, length)
        if rng.random() < 0.5:
            row[position] = rng.integers(3, corpus.VOCAB_SIZE)
        else:
            row[position:-1] = row[position + 1 :].copy()
    batch = np.concatenate([tokens, damaged])
    gold = np.asarray(gold_score(batch))
    reference = np.array([labeller.reference_gold_score(corpus.decode(row)) for row in batch])
    np.testing.assert_allclose(gold, reference, atol=1e-5)
    assert (reference[300:] == labeller.UNGRAMMATICAL_SCORE).mean() > 0.3
    np.testing.assert_array_equal(gold_score(batch.reshape(2, 300, -1)), gold.reshape(2, 300))


def test_decode_keeps_bos_and_pad_before_eos():
    the, room, was, okay = (corpus.TOKEN_ID[w] for w in ("the", "room", "was", "okay"))
    bos, pad, eos = corpus.BOS_ID, corpus.PAD_ID, corpus.EOS_ID
    assert corpus.decode([bos, the, room, pad, was, okay, eos]) == "the room <pad> was okay"
    assert corpus.decode([bos, bos, the, room, was, okay, eos]) == "<bos> the room was okay"
    assert corpus.decode([the, room, was, okay, eos, bos]) == "the room was okay"
    assert corpus.decode([bos, pad, pad]) == "<pad> <pad> ..."


W = corpus.TOKEN_ID
BOS, PAD, EOS = corpus.BOS_ID, corpus.PAD_ID, corpus.EOS_ID
ROOM_OKAY = [W["the"], W["room"], W["was"], W["okay"]]


@pytest.mark.parametrize(
    "tokens, gold",
    [
        ([BOS, *ROOM_OKAY, EOS], 0.0),
        # BOS or PAD emitted before EOS is not a review (decode used to hide both).
        ([BOS, *ROOM_OKAY[:2], PAD, *ROOM_OKAY[2:], EOS], labeller.UNGRAMMATICAL_SCORE),
        ([BOS, *ROOM_OKAY, PAD, EOS], labeller.UNGRAMMATICAL_SCORE),
        ([BOS, BOS, *ROOM_OKAY, EOS], labeller.UNGRAMMATICAL_SCORE),
        ([BOS, *ROOM_OKAY[:3], BOS, W["okay"], EOS], labeller.UNGRAMMATICAL_SCORE),
        ([BOS, PAD, PAD, PAD, PAD, PAD], labeller.UNGRAMMATICAL_SCORE),
        # Whatever follows the first EOS is ignored, BOS included.
        ([BOS, *ROOM_OKAY, EOS, BOS, W["the"]], 0.0),
        # The leading BOS is framing: without it the words are still read from position 0
        # (gold_score used to skip position 0 whatever it held).
        ([*ROOM_OKAY, EOS, PAD], 0.0),
        ([PAD, *ROOM_OKAY, EOS], labeller.UNGRAMMATICAL_SCORE),
        ([EOS, *ROOM_OKAY, EOS], labeller.UNGRAMMATICAL_SCORE),
        ([W["the"], W["price"], W["was"], W["cheap"], EOS, PAD], 1.5),
    ],
)
def test_gold_score_with_specials_anywhere_hand_worked(tokens, gold):
    tokens = np.array(tokens + [PAD] * (8 - len(tokens)), np.int32)
    assert labeller.reference_gold_score(corpus.decode(tokens)) == pytest.approx(gold)
    assert float(gold_score(jnp.asarray(tokens))) == pytest.approx(gold, abs=1e-6)


def test_jitted_gold_score_matches_the_python_reference_with_specials_anywhere():
    rng = np.random.default_rng(1)
    length = 14
    texts = [t for t in corpus.generate_corpus(600, seed=2) if len(t.split()) + 2 <= length]
    clean = np.stack([corpus.encode(text, length) for text in texts])[:500]
    # Grammatical reviews with one to three BOS, PAD or EOS dropped at random positions,
    # position 0 included; and uniformly random token sequences.
    spiked = clean.copy()
    for row in spiked:
        count = rng.integers(1, 4)
        row[rng.integers(0, length, count)] = rng.choice([BOS, PAD, EOS], count)
    uniform = rng.integers(0, corpus.VOCAB_SIZE, (500, length), dtype=np.int32)
    uniform[:, 0] = np.where(rng.random(500) < 0.8, BOS, uniform[:, 0])
    batch = np.concatenate([clean, spiked, uniform])
    gold = np.asarray(gold_score(batch))
    reference = np.array([labeller.reference_gold_score(corpus.decode(row)) for row in batch])
    np.testing.assert_allclose(gold, reference, atol=1e-5)
    # Both verdicts occur among the spiked reviews, so the comparison can fail either way.
    ungrammatical = reference[500:1000] == labeller.UNGRAMMATICAL_SCORE
    assert 0.2 < ungrammatical.mean() < 0.95


def test_bradley_terry_probability_and_noise(key):
    p = labeller.bradley_terry_probability(jnp.float32(3.0), jnp.float32(1.0), 2.0)
    assert float(p) == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-6)
    n = 20_000
    gold_a, gold_b = jnp.full((n,), 1.0), jnp.zeros((n,))
    chosen = labeller.noisy_preferences(key, gold_a, gold_b, 1.0)
    assert chosen.dtype == jnp.bool_
    # sigmoid(1) = 0.7311; 4 standard errors is 0.0126.
    assert float(chosen.mean()) == pytest.approx(0.7311, abs=0.0126)
    again = labeller.noisy_preferences(key, gold_a, gold_b, 1.0)
    assert (chosen == again).all()

"""The hidden "human": a gold score on reviews, and noisy Bradley-Terry preferences from it.

No learner reads this module's weights; the reward model sees only the preference labels.
The gold score of a review is what a fussy reader thinks of it:

- each clause "the NOUN was [not] [very] ADJ" is worth the adjective's weight for that noun
  (`ADJECTIVE_WEIGHTS`; "cheap" pleases about the price and displeases about anything else,
  "cold" is worst for food and coffee), times 1.5 after "very", times -0.5 after "not" (so "not
  awful" is mildly good and "not great" mildly bad);
- "but" halves everything said before it and weights every later clause by 1.5;
- a clause about a noun already mentioned is repetitive and worth -1 whatever it says;
- anything that is not a grammatical review ending in EOS scores `UNGRAMMATICAL_SCORE`,
  including a review with BOS or PAD before its EOS (a policy can emit them mid-response).

A token sequence is read like `corpus.decode` reads it: one BOS at position 0 is framing, and
whatever follows the first EOS is ignored. A prompted sequence `[BOS, prompt..., response...]`
is one review, scored whole: the prompt's words are its opening, so a response that does not
continue them grammatically makes the review ungrammatical, and the same response scores
differently after different prompts.

`gold_score` runs inside jit (a finite-state machine scanned over the tokens);
`reference_gold_score` is the same rule in plain Python, for tests and for reading.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl.rlhf import corpus

ADJECTIVE_WEIGHTS = {
    "great": 2.0,
    "lovely": 1.5,
    "good": 1.0,
    "fresh": 1.0,
    "fine": 0.5,
    "okay": 0.0,
    "cheap": -1.0,
    "cold": -0.3,
    "slow": -1.0,
    "noisy": -1.0,
    "bad": -1.5,
    "rude": -1.5,
    "awful": -2.0,
}
# (noun, adjective) pairs whose weight differs from the adjective's own.
NOUN_ADJECTIVE_WEIGHTS = {
    ("price", "cheap"): 1.5,
    ("food", "cold"): -1.5,
    ("coffee", "cold"): -1.5,
}
VERY_FACTOR, NOT_FACTOR = 1.5, -0.5
BUT_BEFORE, BUT_AFTER = 0.5, 1.5
REPEAT_SCORE = -1.0
UNGRAMMATICAL_SCORE = -4.0


def clause_weight(noun: str, adjective: str) -> float:
    return NOUN_ADJECTIVE_WEIGHTS.get((noun, adjective), ADJECTIVE_WEIGHTS[adjective])


def reference_gold_score(text: str) -> float:
    """The gold score of a review given as words (no BOS/EOS), in plain Python.

    A text that `corpus.decode` marks as cut off (ending in "...") is ungrammatical, and so is
    one with the "<bos>" or "<pad>" it writes for those tokens before EOS: neither is a word of
    the grammar.
    """
    score = parse_review(text)
    return UNGRAMMATICAL_SCORE if score is None else score


def parse_review(text: str) -> float | None:
    """The gold score of a grammatical review, None for anything else (plain Python)."""
    words = text.split()
    if words and words[-1] == "...":
        return None
    total, after_but, seen, position = 0.0, False, set(), 0
    while True:
        if words[position : position + 1] != ["the"]:
            return None
        clause = words[position + 1 :]
        if len(clause) < 3 or clause[0] not in corpus.NOUNS or clause[1] != "was":
            return None
        noun, rest = clause[0], clause[2:]
        factor = 1.0
        if rest[:1] == ["not"]:
            factor, rest = NOT_FACTOR, rest[1:]
        if rest[:1] == ["very"]:
            factor, rest = factor * VERY_FACTOR, rest[1:]
        if not rest or rest[0] not in corpus.ADJECTIVES:
            return None
        score = REPEAT_SCORE if noun in seen else factor * clause_weight(noun, rest[0])
        seen.add(noun)
        total += (BUT_AFTER if after_but else 1.0) * score
        position = len(words) - len(rest) + 1
        if position == len(words):
            return total
        if words[position] == "but":
            total, after_but = BUT_BEFORE * total, True
        elif words[position] != "and":
            return None
        position += 1


# What each token id is to the parser.
(KIND_OTHER, KIND_THE, KIND_WAS, KIND_NOT, KIND_VERY, KIND_AND, KIND_BUT, KIND_NOUN, KIND_ADJ) = (
    range(9)
)
(
    EXPECT_THE,
    EXPECT_NOUN,
    EXPECT_WAS,
    EXPECT_NOT_VERY_ADJ,
    EXPECT_VERY_ADJ,
    EXPECT_ADJ,
    EXPECT_CONJUNCTION_EOS,
    FINISHED,
    FAILED,
) = range(9)


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-token kind `[V]`, per-token noun/adjective index `[V]`, weights `[nouns, adjs]`."""
    kinds = np.full(corpus.VOCAB_SIZE, KIND_OTHER, np.int32)
    index = np.zeros(corpus.VOCAB_SIZE, np.int32)
    for word, kind in (
        ("the", KIND_THE),
        ("was", KIND_WAS),
        ("not", KIND_NOT),
        ("very", KIND_VERY),
        ("and", KIND_AND),
        ("but", KIND_BUT),
    ):
        kinds[corpus.TOKEN_ID[word]] = kind
    for i, noun in enumerate(corpus.NOUNS):
        kinds[corpus.TOKEN_ID[noun]], index[corpus.TOKEN_ID[noun]] = KIND_NOUN, i
    for i, adjective in enumerate(corpus.ADJECTIVES):
        kinds[corpus.TOKEN_ID[adjective]], index[corpus.TOKEN_ID[adjective]] = KIND_ADJ, i
    weights = np.array(
        [[clause_weight(noun, adj) for adj in corpus.ADJECTIVES] for noun in corpus.NOUNS],
        np.float32,
    )
    return kinds, index, weights


_KINDS, _INDEX, _WEIGHTS = _tables()


def gold_score(tokens: jax.Array) -> jax.Array:
    """The hidden gold score of token sequences, inside jit.

    Args:
        tokens: `[..., L]` int32, each `[BOS, words..., EOS, PAD...]` (or cut off without EOS);
            any other sequence of token ids is scored as `corpus.decode` reads it.

    Returns:
        `[...]` float32 gold scores (see the module docstring).
    """
    batch_shape = tokens.shape[:-1]
    flat = tokens.reshape((-1, tokens.shape[-1]))
    return jax.vmap(_gold_score_one)(flat).reshape(batch_shape)


def _gold_score_one(tokens: jax.Array) -> jax.Array:
    kinds, index, weights = jnp.asarray(_KINDS), jnp.asarray(_INDEX), jnp.asarray(_WEIGHTS)

    def step(carry, token):
        state, total, after_but, noun, factor, seen = carry
        kind, i = kinds[token], index[token]
        is_eos = token == corpus.EOS_ID
        clause = factor * weights[noun, i]
        repeated = (seen >> noun) & 1
        clause = jnp.where(repeated == 1, REPEAT_SCORE, clause)
        adj_ok = (kind == KIND_ADJ) & (
            (state == EXPECT_NOT_VERY_ADJ) | (state == EXPECT_VERY_ADJ) | (state == EXPECT_ADJ)
        )
        conj = state == EXPECT_CONJUNCTION_EOS
        # One (condition, next state) row per legal move; anything else fails, except that
        # whatever follows EOS (the padding) is ignored.
        moves = [
            ((state == EXPECT_THE) & (kind == KIND_THE), EXPECT_NOUN),
            ((state == EXPECT_NOUN) & (kind == KIND_NOUN), EXPECT_WAS),
            ((state == EXPECT_WAS) & (kind == KIND_WAS), EXPECT_NOT_VERY_ADJ),
            ((state == EXPECT_NOT_VERY_ADJ) & (kind == KIND_NOT), EXPECT_VERY_ADJ),
            (
                ((state == EXPECT_NOT_VERY_ADJ) | (state == EXPECT_VERY_ADJ)) & (kind == KIND_VERY),
                EXPECT_ADJ,
            ),
            (adj_ok, EXPECT_CONJUNCTION_EOS),
            (conj & ((kind == KIND_AND) | (kind == KIND_BUT)), EXPECT_THE),
            (conj & is_eos, FINISHED),
            (state == FINISHED, FINISHED),
        ]
        next_state = jnp.int32(FAILED)
        for condition, target in reversed(moves):
            next_state = jnp.where(condition, target, next_state)
        clause_weight_now = jnp.where(after_but, BUT_AFTER, 1.0)
        total = jnp.where(adj_ok, total + clause_weight_now * clause, total)
        is_but = conj & (kind == KIND_BUT)
        total = jnp.where(is_but, BUT_BEFORE * total, total)
        after_but = after_but | is_but
        new_noun = (state == EXPECT_NOUN) & (kind == KIND_NOUN)
        seen = jnp.where(adj_ok, seen | (1 << noun), seen)
        noun = jnp.where(new_noun, i, noun)
        factor = jnp.where(state == EXPECT_WAS, 1.0, factor)
        factor = jnp.where((state == EXPECT_NOT_VERY_ADJ) & (kind == KIND_NOT), NOT_FACTOR, factor)
        factor = jnp.where(
            (kind == KIND_VERY) & ((state == EXPECT_NOT_VERY_ADJ) | (state == EXPECT_VERY_ADJ)),
            factor * VERY_FACTOR,
            factor,
        )
        return (next_state, total, after_but, noun, factor, seen), None

    init = (
        jnp.int32(EXPECT_THE),
        jnp.float32(0.0),
        jnp.bool_(False),
        jnp.int32(0),
        jnp.float32(1.0),
        jnp.int32(0),
    )
    # A leading BOS is framing (as in `corpus.decode`): drop it and pad the end, which cannot
    # change the verdict since the parser has either finished or fails on PAD.
    words = jnp.where(tokens[0] == corpus.BOS_ID, jnp.append(tokens[1:], corpus.PAD_ID), tokens)
    (state, total, *_), _ = jax.lax.scan(step, init, words)
    return jnp.where(state == FINISHED, total, UNGRAMMATICAL_SCORE).astype(jnp.float32)


def bradley_terry_probability(
    gold_a: jax.Array, gold_b: jax.Array, temperature: jax.typing.ArrayLike
) -> jax.Array:
    """P(a is preferred to b) = sigmoid((gold_a - gold_b) / temperature), elementwise."""
    return jax.nn.sigmoid((gold_a - gold_b) / temperature)


def noisy_preferences(
    key: jax.Array, gold_a: jax.Array, gold_b: jax.Array, temperature: jax.typing.ArrayLike
) -> jax.Array:
    """The labeller's choices between pairs: True where a is preferred, drawn from Bradley-Terry.

    Args:
        key: randomness of the labeller's noise.
        gold_a, gold_b: `[N]` gold scores of the two sides of each pair.
        temperature: the labeller's noise scale in gold units (0 would be noiseless; must be >0).

    Returns:
        `[N]` bool.
    """
    return jax.random.bernoulli(key, bradley_terry_probability(gold_a, gold_b, temperature))

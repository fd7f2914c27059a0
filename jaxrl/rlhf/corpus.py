"""The generated corpus of short reviews and its word-level tokenizer.

Every sentence comes from a small grammar, deterministic from a seed:

    review := clause ((" and " | " but ") clause){0,2}
    clause := "the" NOUN "was" ["not"] ["very"] ADJECTIVE

for example "the food was very good but the service was not fresh". Token ids are fixed by
`VOCAB`; a sequence is `[BOS, words..., EOS, PAD...]`, `max_len` long. The grammar says nothing
about what a reader thinks of a review: that lives only in `jaxrl.rlhf.labeller`.

A prompt is the first `prompt_len` words of a review (`sample_prompts`), at most "the NOUN
was": the opening of the first clause, which asks for a review of that noun and never completes
a clause. A prompted sequence is `[BOS, prompt..., response..., EOS, PAD...]`; the policy writes
only the response, and the review that is scored is the prompt and the response together.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS)
FUNCTION_WORDS = ("the", "was", "not", "very", "and", "but")
NOUNS = ("food", "service", "staff", "room", "view", "coffee", "music", "price")
ADJECTIVES = (
    "great",
    "lovely",
    "good",
    "fresh",
    "fine",
    "okay",
    "cheap",
    "cold",
    "slow",
    "noisy",
    "bad",
    "rude",
    "awful",
)
VOCAB = SPECIALS + FUNCTION_WORDS + NOUNS + ADJECTIVES
TOKEN_ID = {word: index for index, word in enumerate(VOCAB)}
PAD_ID, BOS_ID, EOS_ID = TOKEN_ID[PAD], TOKEN_ID[BOS], TOKEN_ID[EOS]
VOCAB_SIZE = len(VOCAB)

MAX_CLAUSES = 3
# BOS + MAX_CLAUSES * ("the N was not very A") + conjunctions + EOS.
LONGEST_SENTENCE = 1 + 6 * MAX_CLAUSES + (MAX_CLAUSES - 1) + 1

# The corpus' sampling law: how people write, not what they like.
CLAUSE_COUNT_PROBS = (0.3, 0.45, 0.25)
BUT_PROB = 0.4
NOT_PROB = 0.15
VERY_PROB = 0.25

# "the NOUN was": a longer prefix would sometimes hold the first clause's adjective, and so a
# complete review.
MAX_PROMPT_LEN = 3


def encode(text: str, max_len: int) -> np.ndarray:
    """Token ids of one sentence: `[max_len]` int32, BOS first, EOS after the last word, PAD after.

    Raises:
        ValueError: an unknown word, or a sentence longer than `max_len - 2` words.
    """
    words = text.split()
    unknown = [word for word in words if word not in TOKEN_ID or word in SPECIALS]
    if unknown:
        raise ValueError(f"unknown word {unknown[0]!r}; the vocabulary is {', '.join(VOCAB[3:])}.")
    if len(words) + 2 > max_len:
        raise ValueError(
            f"{len(words)} words do not fit max_len={max_len} with BOS and EOS; "
            f"use max_len >= {len(words) + 2}."
        )
    ids = np.full(max_len, PAD_ID, np.int32)
    ids[0] = BOS_ID
    ids[1 : len(words) + 1] = [TOKEN_ID[word] for word in words]
    ids[len(words) + 1] = EOS_ID
    return ids


def decode(ids) -> str:
    """The words of a token sequence up to its first EOS.

    One BOS at position 0 is framing and dropped. Any other BOS or PAD before EOS is something a
    policy chose to emit, so it is kept, as "<bos>" or "<pad>": no review contains those words,
    and `labeller.reference_gold_score` scores such a text ungrammatical, as `gold_score` does
    the tokens. A sequence that never reaches EOS (cut off at `max_len`) ends with " ...".
    """
    tokens = np.asarray(ids).tolist()
    if tokens[:1] == [BOS_ID]:
        tokens = tokens[1:]
    words = []
    for token in tokens:
        if token == EOS_ID:
            return " ".join(words)
        words.append(VOCAB[token])
    return " ".join(words) + " ..."


def sample_sentence(rng: np.random.Generator) -> str:
    """One review drawn from the grammar's sampling law."""
    num_clauses = 1 + int(rng.choice(MAX_CLAUSES, p=CLAUSE_COUNT_PROBS))
    words: list[str] = []
    for clause in range(num_clauses):
        if clause:
            words.append("but" if rng.random() < BUT_PROB else "and")
        words += ["the", NOUNS[rng.integers(len(NOUNS))], "was"]
        if rng.random() < NOT_PROB:
            words.append("not")
        if rng.random() < VERY_PROB:
            words.append("very")
        words.append(ADJECTIVES[rng.integers(len(ADJECTIVES))])
    return " ".join(words)


def generate_corpus(num_sentences: int, seed: int) -> list[str]:
    """`num_sentences` reviews, the same for the same seed."""
    if num_sentences < 1:
        raise ValueError(f"num_sentences={num_sentences}: generate at least one sentence.")
    rng = np.random.default_rng(seed)
    return [sample_sentence(rng) for _ in range(num_sentences)]


def corpus_tokens(num_sentences: int, seed: int, max_len: int) -> np.ndarray:
    """The corpus as token ids, `[num_sentences, max_len]` int32 (see `encode`)."""
    if max_len < LONGEST_SENTENCE:
        raise ValueError(
            f"max_len={max_len}: the grammar's longest review needs {LONGEST_SENTENCE} tokens "
            "with BOS and EOS; raise max_len."
        )
    return np.stack([encode(text, max_len) for text in generate_corpus(num_sentences, seed)])


def check_prompt_len(prompt_len: int) -> None:
    """Raises ValueError unless `prompt_len` is an int from 0 (no prompt) to MAX_PROMPT_LEN."""
    if isinstance(prompt_len, bool) or not isinstance(prompt_len, int):
        raise ValueError(f"prompt_len={prompt_len!r}: must be an integer, 0 for no prompt.")
    if not 0 <= prompt_len <= MAX_PROMPT_LEN:
        raise ValueError(
            f'prompt_len={prompt_len}: a prompt is a prefix of "the NOUN was"; use 0 (no '
            f"prompt) to {MAX_PROMPT_LEN}."
        )


def sample_prompts(key: jax.Array, num_prompts: int, prompt_len: int) -> jax.Array:
    """Prompts drawn as the grammar opens a review: the first `prompt_len` words of its first
    clause, "the NOUN was" with the noun uniform (as in `sample_sentence`), inside jit.

    Args:
        key: the noun draws' randomness (unused when `prompt_len` is 0).
        num_prompts: prompts to draw (static).
        prompt_len: words per prompt, 0 to `MAX_PROMPT_LEN` (static).

    Returns:
        `[num_prompts, prompt_len]` int32 token ids, without BOS.
    """
    check_prompt_len(prompt_len)
    if prompt_len == 0:
        return jnp.zeros((num_prompts, 0), jnp.int32)
    nouns = jnp.asarray([TOKEN_ID[noun] for noun in NOUNS], jnp.int32)
    noun = nouns[jax.random.randint(key, (num_prompts,), 0, len(NOUNS))]
    the = jnp.full((num_prompts,), TOKEN_ID["the"], jnp.int32)
    was = jnp.full((num_prompts,), TOKEN_ID["was"], jnp.int32)
    return jnp.stack([the, noun, was], axis=1)[:, :prompt_len]


def prompt_key(key: jax.Array) -> jax.Array:
    """The key a stage draws its prompts from, folded off the stage's `key`.

    The stage keeps using `key` itself exactly as it does without prompts, so that with
    `prompt_len=0` (no draw) every sample is the one the prompt-free code gives.
    """
    return jax.random.fold_in(key, 1)

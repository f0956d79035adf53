"""Subword tokenisation: a SentencePiece model learnt from the training text, used through keras-hub.

Why SentencePiece and not WordPiece for translation: it is lossless. It treats the space as a symbol
("▁"), so detokenising the model's output gives back ordinary text with its spacing and punctuation
("¿Dónde está?", not "¿ dónde esta ?"), which is what BLEU on detokenised output needs. keras-hub's
`SentencePieceTokenizer` runs it inside the TensorFlow graph (via tensorflow-text), so an exported model
takes and returns strings.

Ids are fixed: 0 padding (so `Embedding(mask_zero=True)` masks it), 1 unknown, 2 start, 3 end.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sized

import keras_hub
import sentencepiece

from zoo.progress import step

PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
BYTE_FALLBACK_MIN_VOCABULARY = 1024
# SentencePiece holds the sentences it learns from in memory; from a larger corpus it keeps a uniform
# sample of this many (reservoir sampling, seeded), ten times the million its authors suggest.
MAX_SENTENCES = 10_000_000


def train_sentencepiece(
    texts: Iterable[str], vocabulary_size: int, *, lowercase: bool = False, model_type: str = "unigram"
) -> keras_hub.tokenizers.SentencePieceTokenizer:
    """Learns a SentencePiece model from `texts` and returns it as a keras-hub tokenizer.

    `texts` is iterated once and never copied, so it may stream from disk; from more than
    `MAX_SENTENCES` sentences a uniform sample of that many is learnt from (seeded: the same texts give the
    same model).

    keras-hub's `compute_sentence_piece_proto` does the same with a hard vocabulary size, which fails
    on a small corpus that has fewer distinct pieces than asked for (our embedded samples); here the size
    is an upper bound.

    Args:
        texts: training sentences (the training split only, never validation or test).
        vocabulary_size: largest number of pieces, special tokens included. From
            `BYTE_FALLBACK_MIN_VOCABULARY` (1,024) on, unseen characters fall back to bytes (lossless);
            below it they become the unknown piece.
        lowercase: fold case while normalising (NFKC otherwise, SentencePiece's `nmt_nfkc`).
        model_type: "unigram" (Kudo 2018) or "bpe".

    Returns:
        A `keras_hub.tokenizers.SentencePieceTokenizer` (no start/end tokens added: callers add them).

    Example:

    >>> from zoo.text.subword import train_sentencepiece
    >>> tokenizer = train_sentencepiece(["hola mundo", "hola amigo"] * 50, 30)
    >>> tokenizer.vocabulary_size()  # fewer than 30: the corpus has no more distinct pieces
    16
    >>> tokenizer.detokenize(tokenizer.tokenize("hola mundo"))  # lossless
    'hola mundo'
    """
    if vocabulary_size < 8:
        raise ValueError(f"vocabulary_size must be at least 8, got {vocabulary_size}")
    model = io.BytesIO()
    count = len(texts) if isinstance(texts, Sized) else None
    sample = {}
    if count is None or count > MAX_SENTENCES:
        # Only then: the option changes the model learnt from a smaller corpus too.
        sample = {"input_sentence_size": MAX_SENTENCES, "shuffle_input_sentence": True}
        sentencepiece.set_random_generator_seed(0)
    with step(f"training SentencePiece on {'the' if count is None else f'{count:,}'} sentences"):
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            **sample,
            model_writer=model,
            vocab_size=vocabulary_size,
            hard_vocab_limit=False,
            model_type=model_type,
            normalization_rule_name="nmt_nfkc_cf" if lowercase else "nmt_nfkc",
            character_coverage=1.0,
            # A character never seen in training ("4" in a corpus without it) becomes its UTF-8 bytes, not
            # <unk>, so tokenising stays lossless; the 256 byte pieces only fit in a larger vocabulary.
            byte_fallback=vocabulary_size >= BYTE_FALLBACK_MIN_VOCABULARY,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=START_ID,
            eos_id=END_ID,
            minloglevel=2,
            num_threads=2,
        )
    return keras_hub.tokenizers.SentencePieceTokenizer(proto=model.getvalue())

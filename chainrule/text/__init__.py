"""Text tools: tokenising, vocabularies, padding and batching token ids, and sampling text
from language models.

Example:
    >>> from chainrule.text import Vocabulary
    >>> vocab = Vocabulary.build(["To be, or not to be"], level="word")
    >>> ids, lengths = vocab.encode_batch(["to be", "not to be"])
    >>> ids.tolist(), lengths.tolist()
    ([[3, 2, 0], [5, 3, 2]], [2, 3])
"""

from .batch import PaddedBatches, lengths_to_mask, pad_sequences, stream_batches
from .generate import generate, sample_logits
from .lm import evaluate_language_model, train_language_model
from .tokenize import char_tokenize, tokenizer, word_tokenize
from .vocab import Vocabulary

__all__ = [
    "PaddedBatches", "Vocabulary", "char_tokenize", "evaluate_language_model", "generate",
    "lengths_to_mask", "pad_sequences", "sample_logits", "stream_batches", "tokenizer",
    "train_language_model", "word_tokenize",
]

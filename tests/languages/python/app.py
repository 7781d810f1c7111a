"""`keywords-python`: tags records that mention a keyword (a test fixture; the Rust and
JavaScript fixtures behave the same, and the tests compare their outputs)."""

from collections import Counter
from typing import List, Optional, Tuple

from componentize_py_types import Err
from opsloop_batch import Annotations, messages, report_texts
from wit_world import exports
from wit_world.imports import host
from wit_world.imports.types import (
    BatchOutput,
    ConfigKey,
    Evidence,
    Finding,
    Inputs,
    PluginError_BadConfig,
    PluginInfo,
    RecordBatch,
    RecordColumns,
    Report,
)

KEY = "keyword"
MAX_EVIDENCE_RECORDS = 100
MAX_EXAMPLES = 3
U64_MAX = 2**64 - 1
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
_ASCII_SPACE = " \t\n\r\f"


class _State:
    """Module-level: componentize-py makes a new `Analyzer` for every call."""

    words: List[str] = ["error", "fail", "timeout"]
    min_count: int = 3
    total: int = 0


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def _whole_number(text: str) -> Optional[int]:
    """`text` as an unsigned 64-bit number written in ASCII digits only, else None."""
    if not text or not all("0" <= char <= "9" for char in text):
        return None
    value = int(text)
    return value if value <= U64_MAX else None


def _keyword(text: str) -> Optional[str]:
    lower = _ascii_lower(text)
    for word in _State.words:
        if word in lower:
            return word
    return None


def _tag(texts: List[str], count: int) -> Tuple[Annotations, List[int], List[str]]:
    """Annotates each of `count` records by its text with its first keyword; returns the
    matched indices and keywords."""
    ann = Annotations(count, keys=[KEY])
    matched: List[int] = []
    found: List[str] = []
    for index, text in enumerate(texts):
        word = _keyword(text)
        if word is not None:
            ann.set(index, KEY, word)
            matched.append(index)
            found.append(word)
    return ann, matched, found


class Analyzer(exports.Analyzer):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="keywords-python",
            version="1.0.0",
            description="tags records that mention a keyword",
            inputs=Inputs.LOGS | Inputs.REPORTS,
            wants=RecordColumns.MESSAGE,
            annotates=[KEY],
            config=[
                ConfigKey(
                    name="words",
                    description="comma-separated keywords, matched case-insensitively (ASCII)",
                    default_value="error,fail,timeout",
                ),
                ConfigKey(
                    name="min-count",
                    description="matching records in one batch that make a keyword-burst finding",
                    default_value="3",
                ),
            ],
        )

    def init(self, config: List[Tuple[str, str]], state: Optional[bytes]) -> None:
        settings = dict(config)  # a later pair overrides an earlier one
        words = [
            _ascii_lower(word.strip(_ASCII_SPACE))
            for word in settings.get("words", "error,fail,timeout").split(",")
        ]
        words = [word for word in words if word]
        if not words:
            raise Err(PluginError_BadConfig("words: no keyword given"))
        raw = settings.get("min-count", "3")
        min_count = _whole_number(raw)
        if min_count is None or min_count < 1:
            raise Err(
                PluginError_BadConfig(f"min-count: expected a whole number of at least 1, got `{raw}`")
            )
        total = 0
        if state is not None:
            try:
                total = _whole_number(state.decode("ascii")) or 0
            except UnicodeDecodeError:
                total = 0
        _State.words = words
        _State.min_count = min_count
        _State.total = total
        host.log(host.LogLevel.INFO, f"keywords: watching {len(words)} words")
        print("keywords init", flush=True)

    def process_logs(self, batch: RecordBatch) -> BatchOutput:
        texts = messages(batch)
        ann, matched, found = _tag(texts, batch.len)
        _State.total += len(matched)
        columns = ann.columns()
        findings = []
        if matched and len(matched) >= _State.min_count:
            dictionary = columns[0].dictionary
            per_word = Counter(found)
            counts = [("matches", len(matched))]
            counts += [(f"keyword:{word}", per_word[word]) for word in dictionary]
            findings.append(
                Finding(
                    kind="keyword-burst",
                    score=len(matched) / batch.len,
                    summary=f"{len(matched)} of {batch.len} records mention a keyword",
                    first_seen=None,
                    last_seen=None,
                    evidence=Evidence(
                        records=matched[:MAX_EVIDENCE_RECORDS],
                        reports=[],
                        counts=counts,
                        examples=[texts[index] for index in matched[:MAX_EXAMPLES]],
                        query=f"keyword:{dictionary[0]}",
                    ),
                )
            )
        return BatchOutput(annotations=columns, findings=findings)

    def process_reports(self, reports: List[Report]) -> BatchOutput:
        ann, matched, _ = _tag(report_texts(reports), len(reports))
        _State.total += len(matched)
        return BatchOutput(annotations=ann.columns(), findings=[])

    def finish(self) -> BatchOutput:
        findings = []
        if _State.total > 0:
            findings.append(
                Finding(
                    kind="keyword-total",
                    score=0.0,
                    summary=f"{_State.total} records mentioned a keyword",
                    first_seen=None,
                    last_seen=None,
                    evidence=Evidence(
                        records=[],
                        reports=[],
                        counts=[("matches", _State.total)],
                        examples=[],
                        query=None,
                    ),
                )
            )
        return BatchOutput(annotations=[], findings=findings)

    def snapshot(self) -> Optional[bytes]:
        return str(_State.total).encode("ascii")

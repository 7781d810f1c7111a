"""Plain Python values from opsloop's columnar batches, and annotation columns back.

The host sends a batch column by column: each text column is one string plus the UTF-8 byte
offset where every record's value ends, and an annotation column is a dictionary of values plus
one index per record (0xffffffff for none). This module hides both encodings:

    from opsloop_batch import Annotations, messages

    def process_logs(self, batch):
        ann = Annotations(batch.len)
        for i, message in enumerate(messages(batch)):
            if "timed out" in message:
                ann.set(i, "timeout", "yes")
        return BatchOutput(annotations=ann.columns(), findings=[])

A column arrives only when the plugin asked for it in `plugin-info.wants`; a column not asked
for reads as an empty list.
"""

from typing import Dict, Iterable, List, Optional

from wit_world.imports.types import AnnotationColumn, RecordBatch, Report, TextColumn

NO_VALUE = 0xFFFFFFFF
"""The index an annotation column holds for a record without a value."""

NO_TIMESTAMP = -(2**63)
"""The timestamp the host sends for a record that has none."""


def texts(column: TextColumn) -> List[str]:
    """Every record's value of one text column, in record order."""
    ends = column.ends
    if not ends:
        return []
    data = column.data
    raw = data.encode("utf-8")
    values = []
    start = 0
    if len(raw) == len(data):
        # ASCII only: byte offsets are character offsets.
        for end in ends:
            values.append(data[start:end])
            start = end
    else:
        for end in ends:
            values.append(raw[start:end].decode("utf-8", errors="replace"))
            start = end
    return values


def messages(batch: RecordBatch) -> List[str]:
    """Each record's message (ask for `message` in `wants`)."""
    return texts(batch.messages)


def levels(batch: RecordBatch) -> List[str]:
    """Each record's level as written in the log, e.g. `ERROR`, empty where it has none
    (ask for `level`)."""
    return texts(batch.levels)


def sources(batch: RecordBatch) -> List[str]:
    """Each record's source: a file, host or service name (ask for `source`)."""
    return texts(batch.sources)


def fields(batch: RecordBatch) -> List[str]:
    """Each record's structured fields as one JSON object text, `{}` when none (ask for `fields`).

    Use `json.loads` on the ones you need.
    """
    return texts(batch.fields)


def timestamps(batch: RecordBatch) -> List[Optional[int]]:
    """Each record's time in milliseconds since the Unix epoch (UTC), None where it has none
    (ask for `timestamp`)."""
    return [None if stamp == NO_TIMESTAMP else stamp for stamp in batch.timestamps]


def report_texts(reports: Iterable[Report]) -> List[str]:
    """Each report's title and body, joined by a space."""
    return [report.title + " " + report.body for report in reports]


class Annotations:
    """Builds the annotation columns of one batch: `set` values record by record, then pass
    `columns()` as the `annotations` of the batch output.

    Keys named in `keys` get a column even when no record has a value for them; other keys
    get one once a value is set. A column's dictionary lists its distinct values in the order
    of the first record that has each.
    """

    def __init__(self, count: int, keys: Iterable[str] = ()):
        self._count = count
        self._values: Dict[str, List[Optional[str]]] = {}
        for key in keys:
            self._values[key] = [None] * count

    def set(self, index: int, key: str, value: str) -> None:
        """Gives record `index` (0-based, in batch order) the value `value` for `key`,
        replacing any value it had for that key."""
        if not 0 <= index < self._count:
            raise IndexError(f"record {index} is outside the batch of {self._count}")
        values = self._values.get(key)
        if values is None:
            values = self._values[key] = [None] * self._count
        values[index] = str(value)

    def get(self, index: int, key: str) -> Optional[str]:
        """The value record `index` has for `key`, None if it has none."""
        values = self._values.get(key)
        return None if values is None else values[index]

    def columns(self) -> List[AnnotationColumn]:
        """The annotation columns, one per key, in the order the keys were first named."""
        columns = []
        for key, values in self._values.items():
            dictionary: List[str] = []
            position: Dict[str, int] = {}
            value_of: List[int] = []
            for value in values:
                if value is None:
                    value_of.append(NO_VALUE)
                    continue
                index = position.get(value)
                if index is None:
                    index = position[value] = len(dictionary)
                    dictionary.append(value)
                value_of.append(index)
            columns.append(AnnotationColumn(key=key, dictionary=dictionary, value_of=value_of))
        return columns

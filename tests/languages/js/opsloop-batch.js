// Plain JavaScript values from opsloop's columnar batches, and annotation columns back.
//
// The host sends a batch column by column: each text column is one string plus the UTF-8 byte
// offset where every record's value ends, and an annotation column is a dictionary of values
// plus one index per record (0xffffffff for none). This module hides both encodings:
//
//     const ann = new Annotations(batch.len);
//     messages(batch).forEach((message, i) => {
//       if (message.includes('timed out')) ann.set(i, 'timeout', 'yes');
//     });
//     return { annotations: ann.columns(), findings: [] };
//
// A column arrives only when the plugin asked for it in `wants`; a column not asked for reads
// as an empty array. Numbers the contract declares 64-bit (timestamps, evidence counts) are
// BigInts: write `3n` or `BigInt(n)`.

/** The index an annotation column holds for a record without a value. */
export const NO_VALUE = 0xffffffff;

/** The timestamp the host sends for a record that has none. */
export const NO_TIMESTAMP = -(2n ** 63n);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Every record's value of one text column (`{ data, ends }`), in record order. */
export function texts(column) {
  const ends = column.ends;
  const values = [];
  if (!ends || ends.length === 0) return values;
  const data = column.data;
  const bytes = encoder.encode(data);
  let start = 0;
  if (bytes.length === data.length) {
    // ASCII only: byte offsets are character offsets.
    for (const end of ends) {
      values.push(data.slice(start, end));
      start = end;
    }
  } else {
    for (const end of ends) {
      values.push(decoder.decode(bytes.subarray(start, end)));
      start = end;
    }
  }
  return values;
}

/** Each record's message (ask for `message` in `wants`). */
export function messages(batch) {
  return texts(batch.messages);
}

/** Each record's level as written in the log, e.g. `ERROR`, empty where it has none (ask for `level`). */
export function levels(batch) {
  return texts(batch.levels);
}

/** Each record's source: a file, host or service name (ask for `source`). */
export function sources(batch) {
  return texts(batch.sources);
}

/** Each record's structured fields as one JSON object text, `{}` when none (ask for `fields`). */
export function fields(batch) {
  return texts(batch.fields);
}

/**
 * Each record's time in milliseconds since the Unix epoch (UTC) as a BigInt, null where it
 * has none (ask for `timestamp`).
 */
export function timestamps(batch) {
  return Array.from(batch.timestamps, (stamp) => (stamp === NO_TIMESTAMP ? null : stamp));
}

/** Each report's title and body, joined by a space. */
export function reportTexts(reports) {
  return reports.map((report) => report.title + ' ' + report.body);
}

/**
 * Builds the annotation columns of one batch: `set` values record by record, then pass
 * `columns()` as the `annotations` of the batch output.
 *
 * Keys named in `keys` get a column even when no record has a value for them; other keys get
 * one once a value is set. A column's dictionary lists its distinct values in the order of the
 * first record that has each.
 */
export class Annotations {
  constructor(count, keys = []) {
    this.count = count;
    this.values = new Map();
    for (const key of keys) this.values.set(key, new Array(count).fill(null));
  }

  /** Gives record `index` (0-based, in batch order) the value `value` for `key`, replacing any it had. */
  set(index, key, value) {
    if (!(index >= 0 && index < this.count)) {
      throw new RangeError(`record ${index} is outside the batch of ${this.count}`);
    }
    let values = this.values.get(key);
    if (values === undefined) {
      values = new Array(this.count).fill(null);
      this.values.set(key, values);
    }
    values[index] = String(value);
  }

  /** The value record `index` has for `key`, null if it has none. */
  get(index, key) {
    const values = this.values.get(key);
    return values === undefined ? null : values[index];
  }

  /** The annotation columns, one per key, in the order the keys were first named. */
  columns() {
    const columns = [];
    for (const [key, values] of this.values) {
      const dictionary = [];
      const position = new Map();
      const valueOf = new Uint32Array(this.count);
      values.forEach((value, i) => {
        if (value === null) {
          valueOf[i] = NO_VALUE;
          return;
        }
        let index = position.get(value);
        if (index === undefined) {
          index = dictionary.length;
          position.set(value, index);
          dictionary.push(value);
        }
        valueOf[i] = index;
      });
      columns.push({ key, dictionary, valueOf });
    }
    return columns;
  }
}

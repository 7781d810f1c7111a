// `keywords-js`: tags records that mention a keyword (a test fixture; the Rust and Python
// fixtures behave the same, and the tests compare their outputs).

import { log } from 'opsloop:plugin/host@0.1.0';
import { Annotations, messages, reportTexts } from './opsloop-batch.js';

const KEY = 'keyword';
const MAX_EVIDENCE_RECORDS = 100;
const MAX_EXAMPLES = 3;
const U64_MAX = 2n ** 64n - 1n;

let words = ['error', 'fail', 'timeout'];
let minCount = 3n;
let total = 0n;

const asciiLower = (text) => text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
const trimAsciiSpace = (text) => text.replace(/^[ \t\n\r\f]+|[ \t\n\r\f]+$/g, '');

/** `text` as an unsigned 64-bit number written in ASCII digits only, else null. */
function wholeNumber(text) {
  if (!/^[0-9]+$/.test(text)) return null;
  const value = BigInt(text);
  return value <= U64_MAX ? value : null;
}

function keywordOf(text) {
  const lower = asciiLower(text);
  return words.find((word) => lower.includes(word)) ?? null;
}

/** Annotates each of `count` records by its text with its first keyword; returns the matched indices and keywords. */
function tag(texts, count) {
  const ann = new Annotations(count, [KEY]);
  const matched = [];
  const found = [];
  texts.forEach((text, index) => {
    const word = keywordOf(text);
    if (word !== null) {
      ann.set(index, KEY, word);
      matched.push(index);
      found.push(word);
    }
  });
  return { ann, matched, found };
}

function badConfig(message) {
  return { tag: 'bad-config', val: message };
}

export const analyzer = {
  describe() {
    return {
      name: 'keywords-js',
      version: '1.0.0',
      description: 'tags records that mention a keyword',
      inputs: { logs: true, reports: true },
      wants: { message: true },
      annotates: [KEY],
      config: [
        {
          name: 'words',
          description: 'comma-separated keywords, matched case-insensitively (ASCII)',
          defaultValue: 'error,fail,timeout',
        },
        {
          name: 'min-count',
          description: 'matching records in one batch that make a keyword-burst finding',
          defaultValue: '3',
        },
      ],
    };
  },

  init(config, state) {
    const settings = new Map(config); // a later pair overrides an earlier one
    const given = (settings.get('words') ?? 'error,fail,timeout')
      .split(',')
      .map((word) => asciiLower(trimAsciiSpace(word)))
      .filter((word) => word !== '');
    if (given.length === 0) throw badConfig('words: no keyword given');
    const raw = settings.get('min-count') ?? '3';
    const parsed = wholeNumber(raw);
    if (parsed === null || parsed < 1n) {
      throw badConfig(`min-count: expected a whole number of at least 1, got \`${raw}\``);
    }
    let restored = 0n;
    if (state !== undefined && state !== null) {
      const bytes = Array.from(state);
      const text = bytes.every((byte) => byte < 0x80) ? String.fromCharCode(...bytes) : '';
      restored = wholeNumber(text) ?? 0n;
    }
    words = given;
    minCount = parsed;
    total = restored;
    log('info', `keywords: watching ${words.length} words`);
    console.log('keywords init');
  },

  processLogs(batch) {
    const texts = messages(batch);
    const { ann, matched, found } = tag(texts, batch.len);
    total += BigInt(matched.length);
    const columns = ann.columns();
    const findings = [];
    if (matched.length > 0 && BigInt(matched.length) >= minCount) {
      const dictionary = columns[0].dictionary;
      const perWord = new Map();
      for (const word of found) perWord.set(word, (perWord.get(word) ?? 0) + 1);
      findings.push({
        kind: 'keyword-burst',
        score: matched.length / batch.len,
        summary: `${matched.length} of ${batch.len} records mention a keyword`,
        firstSeen: undefined,
        lastSeen: undefined,
        evidence: {
          records: matched.slice(0, MAX_EVIDENCE_RECORDS),
          reports: [],
          counts: [
            ['matches', BigInt(matched.length)],
            ...dictionary.map((word) => [`keyword:${word}`, BigInt(perWord.get(word))]),
          ],
          examples: matched.slice(0, MAX_EXAMPLES).map((index) => texts[index]),
          query: `keyword:${dictionary[0]}`,
        },
      });
    }
    return { annotations: columns, findings };
  },

  processReports(reports) {
    const { ann, matched } = tag(reportTexts(reports), reports.length);
    total += BigInt(matched.length);
    return { annotations: ann.columns(), findings: [] };
  },

  finish() {
    const findings = [];
    if (total > 0n) {
      findings.push({
        kind: 'keyword-total',
        score: 0,
        summary: `${total} records mentioned a keyword`,
        firstSeen: undefined,
        lastSeen: undefined,
        evidence: {
          records: [],
          reports: [],
          counts: [['matches', total]],
          examples: [],
          query: undefined,
        },
      });
    }
    return { annotations: [], findings };
  },

  snapshot() {
    return new TextEncoder().encode(String(total));
  },
};

//! Log-message masking: the variable parts of a message (numbers, ids, addresses, dates) become
//! `<*>`, the rest is kept. The built-in patterns plugin mines templates on top of it, and the
//! tickets plugin uses it to compare error messages quoted in bug reports; a plugin of yours can
//! use it the same way.
//!
//! ```
//! assert_eq!(opsloop_sdk::mask::mask("took 125 ms for uid=42"), "took <*> ms for uid=<*>");
//! assert_eq!(opsloop_sdk::mask::mask("from 10.0.0.1 at Sat Jun 18 02:08:10 2005"), "from <*> at <*>");
//! ```

/// The placeholder for a variable token.
pub const WILDCARD: &str = "<*>";

/// The template one message reads as on its own: variables masked as `<*>`, the rest kept.
/// Two messages with the same masked text always share a pattern.
pub fn mask(message: &str) -> String {
    let (mut masked, mut spans) = (String::new(), Vec::new());
    mask_tokens(message, &mut masked, &mut spans);
    masked
}

/// Punctuation that separates the segments of a token.
const DELIMITERS: [bool; 128] = {
    let mut table = [false; 128];
    let delimiters = b"=:,;()[]{}\"'|<>";
    let mut index = 0;
    while index < delimiters.len() {
        table[delimiters[index] as usize] = true;
        index += 1;
    }
    table
};

/// Whether a segment is a variable: it starts with a digit once leading `/ - + # . $ @` are
/// skipped (`42`, `-1`, `0x1f`, `/10.0.0.1`, `#3`), or holds a run of two or more digits
/// (`blk_3858`, `appattempt_1445_0020`), or is a day or month name (a date inside the message);
/// a lone digit in a word (`ssh2`) keeps it constant.
pub fn is_variable_segment(segment: &str) -> bool {
    if segment.len() == 3 && DATE_NAMES.contains(&segment) {
        return true;
    }
    let core = segment.trim_start_matches(['/', '-', '+', '#', '.', '$', '@']);
    core.as_bytes().first().is_some_and(u8::is_ascii_digit)
        || core.as_bytes().windows(2).any(|pair| pair[0].is_ascii_digit() && pair[1].is_ascii_digit())
}

/// Whether `byte` separates the segments of a token (`=`, `:`, `(`, `[`, quotes, ...).
pub fn is_delimiter(byte: u8) -> bool {
    byte < 128 && DELIMITERS[byte as usize]
}

fn push_segment(out: &mut String, segment: &str) {
    if is_variable_segment(segment) {
        out.push_str(WILDCARD);
    } else {
        out.push_str(segment);
    }
}

/// Within the token that starts at `start`, folds variables joined by `:` or `,` into one
/// (`10.0.0.1:50010` is one address, `yarn,curi` one list).
fn collapse_joined_variables(out: &mut String, start: usize) {
    let joined_somewhere = out.as_bytes()[start..]
        .windows(7)
        .any(|w| w.starts_with(b"<*>") && w.ends_with(b"<*>") && (w[3] == b':' || w[3] == b','));
    if !joined_somewhere {
        return;
    }
    for joined in ["<*>:<*>", "<*>,<*>"] {
        while let Some(position) = out[start..].find(joined) {
            let at = start + position;
            out.replace_range(at..at + joined.len(), WILDCARD);
        }
    }
}

/// Writes `message` into `out` with its variable segments masked, and the byte range of each
/// white-space separated token of `out` into `spans`.
pub fn mask_tokens(message: &str, out: &mut String, spans: &mut Vec<(usize, usize)>) {
    out.clear();
    spans.clear();
    // A date written out in words (`Sat Jun 18 02:08:10 2005`) is one variable: the run of
    // date parts is masked as a single `<*>`.
    let mut date_run = DateRun::default();
    for token in message.split_ascii_whitespace() {
        if is_date_part(token) {
            if date_run.tokens == 0 {
                date_run = DateRun { out_len: out.len(), spans_len: spans.len(), tokens: 0, named: false };
            }
            date_run.tokens += 1;
            date_run.named |= is_date_name(token);
        } else {
            date_run.close(out, spans);
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let start = out.len();
        let mut segment_start = 0;
        for (position, byte) in token.bytes().enumerate() {
            if byte < 128 && DELIMITERS[byte as usize] {
                push_segment(out, &token[segment_start..position]);
                out.push(byte as char);
                segment_start = position + 1;
            }
        }
        push_segment(out, &token[segment_start..]);
        collapse_joined_variables(out, start);
        spans.push((start, out.len()));
    }
    date_run.close(out, spans);
}

/// The date parts masked so far in a row: where they start in the output.
#[derive(Default)]
struct DateRun {
    out_len: usize,
    spans_len: usize,
    tokens: usize,
    named: bool,
}

impl DateRun {
    /// Ends the run: two or more parts with a day or month name become one `<*>`.
    fn close(&mut self, out: &mut String, spans: &mut Vec<(usize, usize)>) {
        if self.tokens >= 2 && self.named {
            out.truncate(self.out_len);
            spans.truncate(self.spans_len);
            if !out.is_empty() {
                out.push(' ');
            }
            let start = out.len();
            out.push_str(WILDCARD);
            spans.push((start, out.len()));
        }
        self.tokens = 0;
        self.named = false;
    }
}

const DATE_NAMES: [&str; 19] = [
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
    "Oct", "Nov", "Dec",
];

fn is_date_name(token: &str) -> bool {
    DATE_NAMES.contains(&token.trim_end_matches(','))
}

/// A day or month name, a day or year number, or a time of day (`02:08:10`, `02:08:10.123`).
fn is_date_part(token: &str) -> bool {
    let token = token.trim_end_matches(',');
    if is_date_name(token) {
        return true;
    }
    let bytes = token.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let digits_only = bytes.iter().all(u8::is_ascii_digit);
    let time = bytes.contains(&b':') && bytes.iter().all(|b| b.is_ascii_digit() || *b == b':' || *b == b'.');
    (digits_only && bytes.len() <= 4) || time
}

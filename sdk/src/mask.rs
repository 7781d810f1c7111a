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

/// A 128-bit fingerprint of what [`mask`] reads in `message`: two messages with the same key
/// mask to the same text, so a miner can recognise a message whose shape it has seen without
/// masking it again (and, in Wasm, without the per-token work that masking costs).
///
/// Only digit runs are abstracted, each as exactly as masking needs it: a lone digit is kept
/// (in `ssh2` it is constant text), while a run of two to four digits and a run of five or
/// more each read as one mark (a run of two digits makes its segment a variable whatever the
/// digits are, and a token of at most four digits may be part of a date in words). Everything
/// else, white space included, is read as it is.
///
/// ```
/// use opsloop_sdk::mask::mask_key;
/// assert_eq!(mask_key("took 125 ms for uid=42"), mask_key("took 980 ms for uid=77"));
/// assert_ne!(mask_key("took 125 ms"), mask_key("took 12345 ms"), "a token of five digits is no date part");
/// assert_ne!(mask_key("via ssh2"), mask_key("via ssh3"), "a lone digit in a word is constant text");
/// ```
pub fn mask_key(message: &str) -> u128 {
    let bytes = message.as_bytes();
    let mut key = KeyHasher::default();
    let (mut span_start, mut at) = (0, 0);
    // Word at a time throughout: in Wasm every loop turn also pays the deadline check.
    while at < bytes.len() {
        let digits = digit_bytes(word_at(bytes, at));
        if digits == 0 {
            at += 8;
            continue;
        }
        at += digits.trailing_zeros() as usize / 8;
        let run_start = at;
        loop {
            // The digits the window starts with: up to its first byte that is not one.
            let run = ((digit_bytes(word_at(bytes, at)) ^ HIGH_BITS).trailing_zeros() / 8) as usize;
            at += run;
            if run < 8 {
                break;
            }
        }
        let run = at - run_start;
        if run >= 2 {
            key.span(bytes, span_start, run_start, if run <= 4 { SHORT_RUN } else { LONG_RUN });
            span_start = at;
        }
    }
    key.span(bytes, span_start, bytes.len(), END);
    key.finish()
}

/// The marks that end each span [`mask_key`] hashes: bytes that never occur in UTF-8, so the
/// low byte of every word tells a span's text from its end.
const END: u64 = 0xFD;
const SHORT_RUN: u64 = 0xFE;
const LONG_RUN: u64 = 0xFF;

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `bytes` from `at` as a little-endian word, zeros past the end.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    if let Some(window) = bytes.get(at..at + 8) {
        return u64::from_le_bytes(window.try_into().unwrap());
    }
    match bytes.len().checked_sub(8) {
        _ if at >= bytes.len() => 0,
        // The message's last eight bytes, shifted so that byte `at` comes first.
        Some(last) => u64::from_le_bytes(bytes[last..].try_into().unwrap()) >> (8 * (at - last)),
        None => bytes[at..].iter().rev().fold(0, |word, &byte| word << 8 | u64::from(byte)),
    }
}

/// The high bit of each byte of `word` that is an ASCII digit (`0`-`9`), the rest clear.
#[inline(always)]
fn digit_bytes(word: u64) -> u64 {
    const fn each(byte: u8) -> u64 {
        u64::from_le_bytes([byte; 8])
    }
    // With the high bit set first, subtracting a byte below 0x80 borrows from no neighbour:
    // the high bit stays set exactly where the byte is at least the one subtracted.
    let at_least_0 = (word | HIGH_BITS).wrapping_sub(each(b'0'));
    let above_9 = (word | HIGH_BITS).wrapping_sub(each(b'9' + 1));
    at_least_0 & !above_9 & !word & HIGH_BITS
}

/// Two 64-bit word hashes with different mixing, fed the same words, for [`mask_key`]: one
/// alone may collide on structured text, and a collision would put a message in the wrong
/// pattern without any check noticing.
#[derive(Default)]
struct KeyHasher {
    first: u64,
    second: u64,
}

impl KeyHasher {
    #[inline(always)]
    fn word(&mut self, word: u64) {
        self.first = (self.first.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
        self.second = (self.second ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }

    /// `bytes[from..to]` eight at a time, then its length and `mark` in one word.
    #[inline(always)]
    fn span(&mut self, bytes: &[u8], from: usize, to: usize, mark: u64) {
        let mut at = from;
        while at + 8 <= to {
            self.word(word_at(bytes, at));
            at += 8;
        }
        if at < to {
            // The rest of the span, the bytes after it cleared.
            self.word(word_at(bytes, at) & (u64::MAX >> (8 * (8 - (to - at)))));
        }
        self.word(((to - from) as u64) << 8 | mark);
    }

    fn finish(&self) -> u128 {
        u128::from(self.first) << 64 | u128::from(self.second)
    }
}

/// Where the first `<*>` in `text` starts. Compares bytes in place: `str::find` sets up a
/// substring searcher per call, and in Wasm a slice compare is a call to `memcmp`; both showed
/// in profiles of the miner, which asks this for template tokens of every record.
pub fn wildcard_at(text: &str) -> Option<usize> {
    text.as_bytes().windows(3).position(|window| window[0] == b'<' && window[1] == b'*' && window[2] == b'>')
}

/// What a byte is to the masking scan: letters and the rest, a digit, punctuation that
/// separates the segments of a token (`=:,;()[]{}"'|<>`), or white space that separates tokens.
const OTHER: u8 = 0;
const DIGIT: u8 = 1;
const DELIMITER: u8 = 2;
const SPACE: u8 = 3;

const CLASSES: [u8; 256] = {
    let mut table = [OTHER; 256];
    let delimiters = b"=:,;()[]{}\"'|<>";
    let mut index = 0;
    while index < delimiters.len() {
        table[delimiters[index] as usize] = DELIMITER;
        index += 1;
    }
    let mut digit = b'0';
    while digit <= b'9' {
        table[digit as usize] = DIGIT;
        digit += 1;
    }
    // What `u8::is_ascii_whitespace` (and so `str::split_ascii_whitespace`) takes for space.
    let spaces = b" \t\n\x0C\r";
    index = 0;
    while index < spaces.len() {
        table[spaces[index] as usize] = SPACE;
        index += 1;
    }
    table
};

/// Whether a segment is a variable: it starts with a digit once leading `/ - + # . $ @` are
/// skipped (`42`, `-1`, `0x1f`, `/10.0.0.1`, `#3`), or holds a run of two or more digits
/// (`blk_3858`, `appattempt_1445_0020`), or is a day or month name (a date inside the message),
/// or is a path (`/var/log/messages`); a lone digit in a word (`ssh2`) keeps it constant. (A URL
/// spans segments, so [`mask_tokens`] finds it: `scheme://` to the end of its token.)
pub fn is_variable_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    starts_variable(bytes) || bytes.windows(2).any(|pair| pair[0].is_ascii_digit() && pair[1].is_ascii_digit())
}

/// A day or month name, a path, or a digit once leading `/ - + # . $ @` are skipped (the
/// variable test short of looking for a run of two digits).
fn starts_variable(segment: &[u8]) -> bool {
    if is_date_name_bytes(segment) || is_path(segment) || is_host_name(segment) || is_value_word(segment) {
        return true;
    }
    let skipped = segment.iter().take_while(|b| matches!(b, b'/' | b'-' | b'+' | b'#' | b'.' | b'$' | b'@')).count();
    segment.get(skipped).is_some_and(u8::is_ascii_digit)
}

/// Whether a segment is a file path of two parts or more: it starts with `/` and holds a
/// later `/` after some other byte (`/var/log/messages`, `/user/root/part-1`). A path names a
/// thing, as an id does, even when a sample shows one value (in the Loghub ground truth of
/// HDFS, Hadoop, Linux and Mac every such segment is a variable); a word pair like `Mb/s` or
/// `lock/unlock` does not start with `/` and stays.
fn is_path(segment: &[u8]) -> bool {
    segment.len() > 2 && segment[0] == b'/' && segment[1..].windows(2).any(|pair| pair[0] != b'/' && pair[1] == b'/')
}

/// Whether a segment is a value written as a word: `true`, `false` or `null` (in the Loghub
/// ground truth of Hadoop, HealthApp and Android every one is a variable), or a hex number of
/// eight digits or more that happens to hold no decimal digit pair (`ffffffff`, `deadbeef`).
fn is_value_word(segment: &[u8]) -> bool {
    [b"true".as_slice(), b"false", b"null"].iter().any(|word| segment.eq_ignore_ascii_case(word))
        || (segment.len() >= 8 && segment.iter().all(u8::is_ascii_hexdigit))
}

/// Whether a segment is a DNS host name: three labels or more of lower-case letters, digits
/// and `-`, ending in a generic top-level domain (`www.baidu.com`, `tcpconn6.tencent.com`), or in
/// a country's under one of those (`proxy.cse.cuhk.edu.hk`), or starting with `www`. A host
/// names a thing, as an address does, even while a sample shows one value (in the Loghub ground
/// truth of Mac and Proxifier every host is a variable). Dotted keys (`mapred.task.id`), reversed
/// names (`org.apache.hive`) and classes (`…MRAppMaster`) are not hosts.
fn is_host_name(segment: &[u8]) -> bool {
    const GENERIC: [&[u8]; 8] = [b"com", b"net", b"org", b"edu", b"gov", b"mil", b"int", b"biz"];
    const UNDER_COUNTRY: [&[u8]; 7] = [b"com", b"net", b"org", b"edu", b"gov", b"ac", b"co"];
    if segment.len() < 7 || !segment.contains(&b'.') {
        return false;
    }
    let labels: Vec<&[u8]> = segment.split(|&byte| byte == b'.').collect();
    let host_label = |label: &&[u8]| {
        !label.is_empty() && label.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if labels.len() < 3 || !labels.iter().all(host_label) || GENERIC.contains(&labels[0]) {
        return false;
    }
    let (last, before_last) = (labels[labels.len() - 1], labels[labels.len() - 2]);
    let country = last.len() == 2 && last.iter().all(u8::is_ascii_lowercase);
    GENERIC.contains(&last) || (country && (UNDER_COUNTRY.contains(&before_last) || labels[0] == b"www"))
}

/// Whether `bytes[from..colon]` is a URL scheme and `://` follows (`http://`, `spark://`,
/// `hdfs://`): a letter, then letters, digits, `+ . -`.
fn is_url_scheme(bytes: &[u8], from: usize, colon: usize) -> bool {
    from < colon
        && bytes[from].is_ascii_alphabetic()
        && bytes[from..colon].iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
        && bytes.get(colon + 1..colon + 3) == Some(b"//".as_slice())
}

/// Where a URL that starts in `bytes` before `after` ends: at the end of its token, short of
/// the closing punctuation that frames it (`url=<*>,`, `"<*>"`, `[<*>]`).
fn url_end(bytes: &[u8], after: usize) -> usize {
    let mut end =
        after + bytes[after..].iter().position(|&b| CLASSES[b as usize] == SPACE).unwrap_or(bytes.len() - after);
    while end > after && matches!(bytes[end - 1], b',' | b';' | b')' | b']' | b'}' | b'"' | b'\'' | b'>' | b'.') {
        end -= 1;
    }
    end
}

/// Whether `byte` separates the segments of a token (`=`, `:`, `(`, `[`, quotes, ...).
pub fn is_delimiter(byte: u8) -> bool {
    CLASSES[byte as usize] == DELIMITER
}

/// Pushes `<*>` and folds it into a variable just before it joined by `:` or `,` (within the
/// token that starts at `token_start`): `10.0.0.1:50010` is one address, `yarn,curi` one list.
fn push_wildcard(out: &mut String, token_start: usize) {
    out.push_str(WILDCARD);
    fold_joined_wildcards(out, token_start);
}

/// `<*>:<*>` or `<*>,<*>` at the end of the token becomes `<*>`.
fn fold_joined_wildcards(out: &mut String, token_start: usize) {
    let token = &out.as_bytes()[token_start..];
    if token.len() >= 7 {
        let tail = &token[token.len() - 7..];
        if tail.starts_with(b"<*>") && tail.ends_with(b"<*>") && (tail[3] == b':' || tail[3] == b',') {
            out.truncate(out.len() - 4);
        }
    }
}

/// Writes `message` into `out` with its variable segments masked, and the byte range of each
/// white-space separated token of `out` into `spans`.
///
/// This runs for every log record, inside Wasm, where each loop iteration also pays for the
/// deadline check (epoch interruption): so it is one pass over the bytes, four at a time
/// where none of them ends a segment or a token.
pub fn mask_tokens(message: &str, out: &mut String, spans: &mut Vec<(usize, usize)>) {
    out.clear();
    spans.clear();
    // A date written out in words (`Sat Jun 18 02:08:10 2005`) is one variable: the run of
    // date parts is masked as a single `<*>`.
    let mut date_run = DateRun::default();
    let bytes = message.as_bytes();
    let mut at = 0;
    loop {
        while at < bytes.len() && CLASSES[bytes[at] as usize] == SPACE {
            at += 1;
        }
        if at == bytes.len() {
            break;
        }
        let token_from = at;
        let (out_before, spans_before) = (out.len(), spans.len());
        if !out.is_empty() {
            out.push(' ');
        }
        let start = out.len();
        let (mut segment_start, mut previous_digit, mut digit_pair) = (at, false, false);
        // Bytes of the message before `copied` are in `out`: constant text is copied in runs,
        // up to the next variable, not segment by segment.
        let mut copied = at;
        while at < bytes.len() {
            if let Some(&[a, b, c, d]) = bytes.get(at..at + 4) {
                let classes = [CLASSES[a as usize], CLASSES[b as usize], CLASSES[c as usize], CLASSES[d as usize]];
                if classes.iter().all(|&class| class <= DIGIT) {
                    for class in classes {
                        let digit = class == DIGIT;
                        digit_pair |= digit & previous_digit;
                        previous_digit = digit;
                    }
                    at += 4;
                    continue;
                }
            }
            let byte = bytes[at];
            match CLASSES[byte as usize] {
                SPACE => break,
                DELIMITER if byte == b':' && is_url_scheme(bytes, segment_start, at) => {
                    // A URL is one variable from its scheme to the end of its token: its parts
                    // (host, port, path, query) vary together.
                    out.push_str(&message[copied..segment_start]);
                    push_wildcard(out, start);
                    at = url_end(bytes, at + 3);
                    (copied, segment_start, previous_digit, digit_pair) = (at, at, false, false);
                    continue;
                }
                DELIMITER => {
                    if is_variable_segment_at(bytes, segment_start, at, digit_pair) {
                        out.push_str(&message[copied..variable_start(bytes, segment_start, at)]);
                        push_wildcard(out, start);
                        copied = at;
                    }
                    if byte == b'>' && bytes[token_from..at].ends_with(b"<*") {
                        // A literal `<*>` in the message: it may join a variable before it.
                        out.push_str(&message[copied..=at]);
                        copied = at + 1;
                        fold_joined_wildcards(out, start);
                    }
                    (segment_start, previous_digit, digit_pair) = (at + 1, false, false);
                }
                class => {
                    let digit = class == DIGIT;
                    digit_pair |= digit & previous_digit;
                    previous_digit = digit;
                }
            }
            at += 1;
        }
        if is_variable_segment_at(bytes, segment_start, at, digit_pair) {
            out.push_str(&message[copied..variable_start(bytes, segment_start, at)]);
            push_wildcard(out, start);
        } else {
            out.push_str(&message[copied..at]);
        }
        spans.push((start, out.len()));

        let (date_part, date_name) = date_flags(&bytes[token_from..at]);
        if date_part {
            if date_run.tokens == 0 {
                date_run = DateRun { out_len: out_before, spans_len: spans_before, tokens: 0, named: false };
            }
            date_run.tokens += 1;
            date_run.named |= date_name;
        } else if date_run.collapses() {
            // The run ended before this token, which is written already: it moves behind the
            // run's `<*>` (rare: a date in words inside a message).
            let token = out[start..].to_string();
            out.truncate(out_before);
            spans.truncate(spans_before);
            date_run.close(out, spans);
            out.push(' ');
            let start = out.len();
            out.push_str(&token);
            spans.push((start, out.len()));
        } else {
            date_run.close(out, spans);
        }
    }
    date_run.close(out, spans);
}

/// Where the variable of a variable segment starts: after the name of a numbered member of a
/// family (`node-<*>` of `node-23`, `worker-<*>`), which is constant; else at `from`. A name is
/// letters only, so `blk_-1608` and `x-12y` stay one variable.
fn variable_start(bytes: &[u8], from: usize, to: usize) -> usize {
    let segment = &bytes[from..to];
    let letters = segment.iter().take_while(|byte| byte.is_ascii_alphabetic()).count();
    // A dot is left out: Mac's labels read `QQ.10018` (process.pid) as one variable.
    match segment.get(letters) {
        Some(b'-')
            if letters >= 2 && letters + 1 < segment.len() && segment[letters + 1..].iter().all(u8::is_ascii_digit) =>
        {
            from + letters + 1
        }
        _ => from,
    }
}

/// Whether `bytes[from..to]` is a variable segment; `digit_pair` says whether it holds a run
/// of two digits (found while looking for its end).
fn is_variable_segment_at(bytes: &[u8], from: usize, to: usize, digit_pair: bool) -> bool {
    from < to && (digit_pair || starts_variable(&bytes[from..to]))
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
    /// Whether closing the run now turns it into one `<*>`: two or more parts, one a name.
    fn collapses(&self) -> bool {
        self.tokens >= 2 && self.named
    }

    /// Ends the run: two or more parts with a day or month name become one `<*>`.
    #[inline(always)]
    fn close(&mut self, out: &mut String, spans: &mut Vec<(usize, usize)>) {
        if self.tokens == 0 {
            return;
        }
        if self.collapses() {
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

/// Day and month names, each as the little-endian `u32` of its three bytes.
const DATE_NAMES: [u32; 19] = {
    let names = *b"MonTueWedThuFriSatSunJanFebMarAprMayJunJulAugSepOctNovDec";
    let mut keys = [0u32; 19];
    let mut index = 0;
    while index < 19 {
        keys[index] = u32::from_le_bytes([names[3 * index], names[3 * index + 1], names[3 * index + 2], 0]);
        index += 1;
    }
    keys
};

/// A three-letter day or month name (compared as one integer, not as a slice).
#[inline(always)]
fn is_date_name_bytes(word: &[u8]) -> bool {
    match *word {
        [a, b, c] => DATE_NAMES.contains(&u32::from_le_bytes([a, b, c, 0])),
        _ => false,
    }
}

/// Whether a token is a date part (a day or month name, a day or year number, or a time of
/// day: `02:08:10`, `02:08:10.123`), and whether it is a name; trailing commas are ignored.
fn date_flags(token: &[u8]) -> (bool, bool) {
    let end = token.len() - token.iter().rev().take_while(|&&b| b == b',').count();
    let token = &token[..end];
    if is_date_name_bytes(token) {
        return (true, true);
    }
    if !token.first().is_some_and(u8::is_ascii_digit) {
        return (false, false);
    }
    let (mut digits_only, mut colon, mut time_chars) = (true, false, true);
    for &byte in token {
        if !byte.is_ascii_digit() {
            digits_only = false;
            match byte {
                b':' => colon = true,
                b'.' => {}
                _ => time_chars = false,
            }
        }
    }
    ((digits_only && token.len() <= 4) || (colon && time_chars), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(message: &str) -> (String, Vec<(usize, usize)>) {
        let (mut out, mut spans) = (String::new(), Vec::new());
        mask_tokens(message, &mut out, &mut spans);
        (out, spans)
    }

    #[test]
    fn a_date_in_words_inside_a_message_is_one_variable_and_the_rest_keeps_its_spans() {
        let (out, spans) = masked("login at Sat Jun 18 02:08:10 2005 from\thost-a took 12ms");
        assert_eq!(out, "login at <*> from host-a took <*>");
        let tokens: Vec<&str> = spans.iter().map(|&(from, to)| &out[from..to]).collect();
        assert_eq!(tokens, ["login", "at", "<*>", "from", "host-a", "took", "<*>"]);
    }

    #[test]
    fn paths_and_urls_are_variables_even_when_a_sample_shows_one_value() {
        assert_eq!(masked("open /var/log/messages failed").0, "open <*> failed");
        assert_eq!(masked("path:/Users/me/Library key='/etc/hosts' /w/*").0, "path:<*> key='<*>' <*>");
        assert_eq!(masked("at 10 Mb/s lock/unlock / // /tmp").0, "at <*> Mb/s lock/unlock / // /tmp");
        assert_eq!(masked("fetch http://host-a:8080/a/b?x=1, then").0, "fetch <*>, then");
        assert_eq!(masked("[spark://Driver@host:4040] url=\"https://x.org/y\".").0, "[<*>] url=\"<*>\".");
        assert_eq!(masked("a 12://x b://").0, "a <*>://x <*>", "a scheme starts with a letter");
    }

    #[test]
    fn host_names_are_variables_and_packages_and_file_names_are_not() {
        assert_eq!(
            masked("proxy.cse.cuhk.edu.hk:5070 open through proxy socks.cse.cuhk.edu.hk:5070").0,
            "<*> open through proxy <*>"
        );
        assert_eq!(
            masked("resolve www.google.com and tcpconn6.tencent.com, www.heise.de").0,
            "resolve <*> and <*>, <*>"
        );
        assert_eq!(
            masked("class org.apache.hive com.example.app a.b.Main mapred.task.id is deprecated, use notes.tar.gz").0,
            "class org.apache.hive com.example.app a.b.Main mapred.task.id is deprecated, use notes.tar.gz"
        );
    }

    #[test]
    fn booleans_null_and_hex_numbers_are_variables() {
        assert_eq!(
            masked("setLightsOn(true) ready=false,tag = null mask=ffffffff").0,
            "setLightsOn(<*>) ready=<*>,tag = <*> mask=<*>"
        );
        assert_eq!(masked("trueness Nullable accepted effaced").0, "trueness Nullable accepted effaced");
    }

    #[test]
    fn joined_variables_fold_and_frames_stay() {
        assert_eq!(masked("to /10.0.0.1:50010 with uid=42,gid=7 at [5]").0, "to <*> with uid=<*>,gid=<*> at [<*>]");
        assert_eq!(masked("a <*>:<*> b").0, "a <*> b", "a literal wildcard joins like a masked one");
        assert_eq!(masked("ssh2 blk_3858 0x1f -1 #3").0, "ssh2 <*> <*> <*> <*>");
    }

    #[test]
    fn a_numbered_member_of_a_family_keeps_its_family_name() {
        assert_eq!(
            masked("served by node node-235 on Interconnect-0T00 tree worker-17").0,
            "served by node node-<*> on <*> tree worker-<*>"
        );
        // Only letters name a family, and a lone digit stays constant as in `ssh2`.
        assert_eq!(masked("a node-1 blk_-1608999 x-12y QQ.10018").0, "a node-1 <*> <*> <*>");
        assert_eq!(mask_key("node-235 up"), mask_key("node-17 up"));
    }

    #[test]
    fn digit_pairs_are_found_wherever_they_fall_in_the_four_byte_windows() {
        // A lead of letters keeps the segment from starting with a digit (that alone is a variable);
        // not hex digits, which make a long segment a variable too.
        for offset in 1..20 {
            let lead = "x".repeat(offset);
            for tail in ["", "b", "bcdefghij", ":x", " y"] {
                let pair = format!("{lead}12{tail}");
                assert!(masked(&pair).0.starts_with("<*>"), "{pair:?} -> {:?}", masked(&pair).0);
                let apart = format!("{lead}1b2{tail}");
                assert!(masked(&apart).0.starts_with(&lead), "{apart:?} -> {:?}", masked(&apart).0);
                let split = format!("{lead}1:2{tail}");
                assert!(masked(&split).0.starts_with(&format!("{lead}1:")), "{split:?} -> {:?}", masked(&split).0);
            }
        }
    }

    /// A message of random pieces (words, digit runs, delimiters, white space, dates) and the
    /// same message with every digit run of two or more digits replaced by other digits of a
    /// length in the same class (two to four, five or more): the two must mask alike and share
    /// a key.
    #[test]
    fn messages_of_one_shape_mask_alike_and_share_a_key() {
        let pieces = [
            "a", "ssh", "Zq", "é", " ", "  ", "\t", ":", ",", "=", "(", ")", "[", "]", "<*>", "<", "\"", "|", "/", "-",
            ".", "#", "_", "Jun", "Sat", "02:08:10", "\u{0}", "1", "7",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = move |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        for _ in 0..20_000 {
            let (mut message, mut varied) = (String::new(), String::new());
            for _ in 0..random(24) {
                if random(4) == 0 {
                    // A digit run: 2..=4 digits, or 5..=20, varied within its class.
                    let (low, high) = if random(2) == 0 { (2, 4) } else { (5, 20) };
                    let length = low + random(high - low + 1);
                    let other = low + random(high - low + 1);
                    // Bounded by a non-digit so that it does not run into a digit piece.
                    let bound = ["_", " ", ":", "x"][random(4)];
                    for (text, length) in [(&mut message, length), (&mut varied, other)] {
                        text.push_str(bound);
                        text.extend((0..length).map(|_| char::from(b'0' + random(10) as u8)));
                        text.push_str(bound);
                    }
                } else {
                    let piece = pieces[random(pieces.len())];
                    message.push_str(piece);
                    varied.push_str(piece);
                }
            }
            assert_eq!(mask(&message), mask(&varied), "{message:?} / {varied:?}");
            assert_eq!(mask_key(&message), mask_key(&varied), "{message:?} / {varied:?}");
        }
    }

    #[test]
    fn messages_that_mask_apart_have_different_keys() {
        let pairs = [
            ("via ssh2", "via ssh3"),
            ("on Jun 18 02:08:10 2005", "on Jun 18 02:08:10 20051"),
            ("a12b", "a1b"),
            ("port 50010", "port 5001"),
            ("x", "x\u{0}"),
            ("", "0"),
        ];
        for (a, b) in pairs {
            assert_ne!(mask_key(a), mask_key(b), "{a:?} / {b:?}");
        }
        // Runs that end the message on a word boundary, of one class: one key.
        for (a, b) in [("12345678", "1234567"), ("a 1234567812345678", "a 123456781234567"), ("x 12", "x 99")] {
            assert_eq!(mask(a), mask(b));
            assert_eq!(mask_key(a), mask_key(b), "{a:?} / {b:?}");
        }
        // The white space is read as it is, so these differ in key though not in mask: only
        // a lookup is lost, never a pattern mixed up.
        assert_ne!(mask_key("took 1 ms"), mask_key("took  1 ms"));
        assert_eq!(mask("took 1 ms"), mask("took  1 ms"));
    }

    #[test]
    fn long_tokens_scanned_four_bytes_at_a_time_match_short_ones() {
        assert_eq!(masked("ApplicationMasterLauncher12 x").0, "<*> x");
        assert_eq!(masked("ApplicationMasterLauncher1 x").0, "ApplicationMasterLauncher1 x");
        assert_eq!(masked("container_1445144423722_0020_01_000001").0, "<*>");
        assert_eq!(masked("é1:2 ü").0, "é1:<*> ü");
    }
}

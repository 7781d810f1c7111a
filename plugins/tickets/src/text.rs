//! Report text as the similarity measure sees it: form boilerplate removed, words split at
//! punctuation (`dict.leo.org` → `dict.leo.org`, `dict`, `leo`, `org`), stop words and bare
//! numbers dropped, a light suffix stemmer (`archive`, `archiving`, `archived` → `archiv`).

/// Lines bug trackers put into every report (Bugzilla's and GitHub's forms).
const BOILERPLATE_PREFIXES: [&str; 7] = [
    "user agent:",
    "steps to reproduce:",
    "actual results:",
    "expected results:",
    "build id:",
    "### ",
    "+++ this bug was initially created as a clone",
];

const STOP_WORDS: [&str; 75] = [
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "is", "it", "this", "that", "with", "as", "at", "be",
    "by", "from", "i", "my", "me", "we", "you", "not", "are", "was", "were", "but", "if", "when", "then", "have",
    "has", "had", "do", "does", "can", "will", "would", "should", "could", "there", "their", "they", "them", "what",
    "which", "so", "no", "yes", "just", "also", "any", "all", "some", "more", "most", "very", "only", "into", "out",
    "up", "about", "after", "before", "than", "too", "via", "per", "its", "been", "our", "your",
];

/// The report a Bugzilla clone was made from: `+++ This bug was initially created as a clone
/// of Bug #1234 +++` names `1234`. A clone is a separate bug by the tracker's own convention
/// (the same fix elsewhere, another locale), so it is no duplicate of its source.
pub fn cloned_from(text: &str) -> Option<String> {
    const MARK: &str = "this bug was initially created as a clone of bug #";
    let line = text.lines().map(str::trim).find(|line| line.starts_with("+++"))?.to_ascii_lowercase();
    let at = line.find(MARK)? + MARK.len();
    let id: String = line[at..].chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some(id)
}

/// The text without the lines every report of a tracker's form has.
pub fn strip_boilerplate(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let lower = line.trim_start().to_ascii_lowercase();
            !BOILERPLATE_PREFIXES.iter().any(|prefix| lower.starts_with(prefix))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn stem(word: &str) -> &str {
    for suffix in ["ing", "ed", "es", "s", "e"] {
        if word.len() > suffix.len() + 3 && word.ends_with(suffix) {
            return &word[..word.len() - suffix.len()];
        }
    }
    word
}

fn keep(word: &str) -> bool {
    word.len() > 1 && !word.bytes().all(|b| b.is_ascii_digit()) && !STOP_WORDS.contains(&word)
}

/// The terms of `text`, in order, with repeats.
pub fn terms(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let is_word_char = |c: char| c.is_alphanumeric();
    let is_joiner = |c: char| matches!(c, '_' | '\'' | '.' | '/' | '-');
    let chars: Vec<(usize, char)> = lower.char_indices().collect();
    let mut index = 0;
    while index < chars.len() {
        if !is_word_char(chars[index].1) {
            index += 1;
            continue;
        }
        let start = chars[index].0;
        let mut end = index;
        // A word runs on through joiners that have a word character after them.
        while end + 1 < chars.len()
            && (is_word_char(chars[end + 1].1)
                || (is_joiner(chars[end + 1].1) && chars.get(end + 2).is_some_and(|&(_, c)| is_word_char(c))))
        {
            end += 1;
        }
        let stop = chars.get(end + 1).map_or(lower.len(), |&(at, _)| at);
        let word = &lower[start..stop];
        let parts: Vec<&str> = word.split(is_joiner).filter(|part| !part.is_empty()).collect();
        if parts.len() > 1 && keep(word) {
            out.push(stem(word).to_string());
        }
        out.extend(parts.into_iter().filter(|part| keep(part)).map(|part| stem(part).to_string()));
        index = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_words_count_whole_and_in_parts() {
        assert_eq!(terms("dict.leo.org renders blank"), ["dict.leo.org", "dict", "leo", "org", "render", "blank"]);
    }

    #[test]
    fn a_word_and_its_inflections_share_a_stem() {
        assert_eq!(terms("archive archiving archived archives"), ["archiv", "archiv", "archiv", "archiv"]);
    }

    #[test]
    fn stop_words_and_numbers_are_dropped() {
        assert_eq!(terms("It crashed at 12 and then on the 2nd"), ["crash", "2nd"]);
    }

    #[test]
    fn a_clone_names_its_source() {
        let body = "+++ This bug was initially created as a clone of Bug #1783558 +++\n\nDead links";
        assert_eq!(cloned_from(body).as_deref(), Some("1783558"));
        assert_eq!(strip_boilerplate(body).trim(), "Dead links");
        assert_eq!(cloned_from("Dead links, see bug 12"), None);
    }

    #[test]
    fn form_lines_are_removed() {
        let body = "User Agent: Mozilla/5.0\n\nSteps to reproduce:\n\nopen the page";
        assert_eq!(strip_boilerplate(body).trim(), "open the page");
    }
}

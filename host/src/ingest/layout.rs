//! `--pattern` layouts: a line layout with `<Field>` placeholders, as Loghub writes them, e.g.
//! `<Date> <Time> <Pid> <Level> <Component>: <Content>`. `<Content>` or `<Message>` is the
//! message, `<Level>` the level; `<Date>`, `<Time>`, `<Month>`, `<Day>`, `<Year>` and
//! `<Timestamp>` together make the timestamp; every other placeholder becomes a field.
//! `( ... )?` marks an optional part; runs of spaces match any run of blanks; everything else
//! is literal.

use regex::Regex;

use super::record::{Origin, Record, normalize_level};
use super::timestamp::parse_timestamp_text;

const TIME_PARTS: &[&str] = &["Year", "Month", "Date", "Day", "Time", "Timestamp"];

/// A compiled layout.
#[derive(Debug, Clone)]
pub struct Layout {
    regex: Regex,
    names: Vec<String>,
}

impl Layout {
    /// Compiles `layout`; the error says what is wrong with it.
    pub fn new(layout: &str) -> Result<Self, String> {
        // `(?s)`: a joined continuation line is part of the last placeholder.
        let mut pattern = String::from("(?s)^");
        let mut names = Vec::new();
        let mut rest = layout;
        let mut depth = 0usize;
        while let Some(ch) = rest.chars().next() {
            if ch == '<' {
                let end = rest.find('>').ok_or_else(|| format!("pattern `{layout}`: `<` without `>`"))?;
                let name = &rest[1..end];
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!("pattern `{layout}`: `<{name}>` is not a placeholder name"));
                }
                if names.iter().any(|known| known == name) {
                    return Err(format!("pattern `{layout}`: `<{name}>` appears twice"));
                }
                names.push(name.to_string());
                pattern.push_str(&format!("(?P<{name}>.*?)"));
                rest = &rest[end + 1..];
            } else if ch == '(' {
                depth += 1;
                pattern.push_str("(?:");
                rest = &rest[1..];
            } else if ch == ')' && depth > 0 {
                depth -= 1;
                pattern.push(')');
                rest = &rest[1..];
                if let Some(after) = rest.strip_prefix('?') {
                    pattern.push('?');
                    rest = after;
                }
            } else if ch == ' ' {
                pattern.push_str(r"\s+");
                rest = rest.trim_start_matches(' ');
            } else {
                pattern.push_str(&regex::escape(&ch.to_string()));
                rest = &rest[ch.len_utf8()..];
            }
        }
        if depth != 0 {
            return Err(format!("pattern `{layout}`: unbalanced `(`"));
        }
        if !names.iter().any(|name| name == "Content" || name == "Message") {
            return Err(format!("pattern `{layout}`: needs a <Content> or <Message> placeholder"));
        }
        // The last placeholder takes the rest of the line.
        if let Some(last) = names.last() {
            let lazy = format!("(?P<{last}>.*?)");
            if let Some(position) = pattern.rfind(&lazy) {
                pattern.replace_range(position..position + lazy.len(), &format!("(?P<{last}>.*)"));
            }
        }
        pattern.push('$');
        let regex = Regex::new(&pattern).map_err(|error| format!("pattern `{layout}`: {error}"))?;
        Ok(Self { regex, names })
    }

    /// Whether `line` matches the layout.
    pub fn matches(&self, line: &str) -> bool {
        self.regex.is_match(line)
    }

    /// Parses a line that matches the layout.
    pub fn parse(&self, line: &str, source: &str, origin: Origin) -> Result<Record, String> {
        let captures = self.regex.captures(line).ok_or("does not match the pattern")?;
        let value = |name: &str| captures.name(name).map(|m| m.as_str().trim()).filter(|v| !v.is_empty());
        let message = value("Content").or_else(|| value("Message")).unwrap_or("");
        let mut record = Record::new(source, message.to_string(), origin);
        record.level = value("Level").map(normalize_level);
        let time_text: Vec<&str> = ["Year", "Month", "Date", "Day", "Time", "Timestamp"]
            .iter()
            .filter(|part| **part != "Year")
            .filter_map(|part| value(part))
            .collect();
        if !time_text.is_empty() {
            let mut text = time_text.join(" ");
            if let Some(year) = value("Year") {
                text = format!("{text} {year}");
            }
            record.timestamp_ms =
                Some(parse_timestamp_text(&text).ok_or_else(|| format!("unreadable timestamp: {text}"))?);
        }
        for name in &self.names {
            if TIME_PARTS.contains(&name.as_str()) || matches!(name.as_str(), "Content" | "Message" | "Level") {
                continue;
            }
            if let Some(text) = value(name) {
                record.fields.insert(name.to_lowercase(), serde_json::Value::String(text.to_string()));
            }
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::for_tests()
    }

    #[test]
    fn loghub_layouts() {
        let hdfs = Layout::new("<Date> <Time> <Pid> <Level> <Component>: <Content>").unwrap();
        let record = hdfs
            .parse(
                "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38 terminating",
                "s",
                origin(),
            )
            .unwrap();
        assert_eq!(record.message, "PacketResponder 1 for block blk_38 terminating");
        assert_eq!(record.level.as_deref(), Some("INFO"));
        assert_eq!(record.fields["pid"], "148");
        assert_eq!(record.fields["component"], "dfs.DataNode$PacketResponder");
        assert_eq!(record.timestamp_ms, Some(1_226_262_975_000));

        let linux = Layout::new("<Month> <Date> <Time> <Level> <Component>([<PID>])?: <Content>").unwrap();
        let with_pid = linux
            .parse("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown", "s", origin())
            .unwrap();
        assert_eq!(with_pid.fields["pid"], "19939");
        assert_eq!(with_pid.message, "check pass; user unknown");
        let without_pid = linux.parse("Jun 15 04:06:18 combo su(pam_unix): session opened", "s", origin()).unwrap();
        assert!(!without_pid.fields.contains_key("pid"));
        assert_eq!(without_pid.fields["component"], "su(pam_unix)");

        let health = Layout::new("<Time>|<Component>|<Pid>|<Content>").unwrap();
        let record =
            health.parse("20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579", "s", origin()).unwrap();
        assert_eq!(record.timestamp_ms, Some(1_514_067_329_606));
        assert_eq!(record.message, "onStandStepChanged 3579");

        let windows = Layout::new("<Date> <Time>, <Level>                  <Component>    <Content>").unwrap();
        let record = windows
            .parse("2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1", "s", origin())
            .unwrap();
        assert_eq!(record.level.as_deref(), Some("INFO"));
        assert_eq!(record.fields["component"], "CBS");
        assert_eq!(record.message, "Loaded Servicing Stack v6.1");
    }

    #[test]
    fn bad_layouts_are_explained() {
        assert!(Layout::new("<Date> <Time>").unwrap_err().contains("<Content>"));
        assert!(Layout::new("<Date <Content>").unwrap_err().contains("placeholder"));
        assert!(Layout::new("(<Pid> <Content>").unwrap_err().contains("unbalanced"));
    }
}

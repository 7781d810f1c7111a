//! Telling logs from what is not: a file's first KiB of binary content, or a file name whose
//! extension says it is an archive, an image, a document or a table. An import refuses a
//! binary file it was named (unless `--format raw` forces it), and skips both kinds when it
//! walks a directory, listing what it skipped and why.

use std::path::Path;

/// How much of a file's start [`binary_reason`] looks at.
pub const SNIFF_BYTES: usize = 1024;

/// Why `head` (a file's first bytes, [`SNIFF_BYTES`] or fewer) is not text, if it is not: a
/// NUL byte, or more than one byte in eight that is invalid UTF-8 or a control character text
/// does not use. A few stray bytes (a Latin-1 name in a log line) do not make a file binary;
/// those lines are rejected one by one.
pub fn binary_reason(head: &[u8]) -> Option<String> {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if let Some(at) = memchr::memchr(0, head) {
        return Some(format!("binary content: a NUL byte at byte {at}"));
    }
    let mut odd = 0usize;
    let chunks: Vec<_> = head.utf8_chunks().collect();
    for (n, chunk) in chunks.iter().enumerate() {
        odd += chunk
            .valid()
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1b'))
            .count();
        // A multi-byte character cut off at the end of the sample is not invalid.
        let cut_at_end = n + 1 == chunks.len() && head.len() == SNIFF_BYTES && chunk.invalid().len() < 4;
        if !cut_at_end {
            odd += chunk.invalid().len();
        }
    }
    (odd * 8 > head.len()).then(|| format!("binary content: {odd} of its first {} bytes are not text", head.len()))
}

/// What a file's extension says it is, when that is not a log: `archive`, `image`, `document`,
/// `table` (`.csv`, `.tsv`: skipped unless `tables_too`), `program` or `media`. `.gz` is
/// read (decompressed), so it is not in the list.
pub fn not_a_log(path: &Path, tables_too: bool) -> Option<&'static str> {
    let extension = path.extension()?.to_string_lossy().to_ascii_lowercase();
    let kind = match extension.as_str() {
        "zip" | "tar" | "tgz" | "bz2" | "tbz2" | "xz" | "txz" | "zst" | "7z" | "rar" | "lz4" | "lzma" | "z" | "jar"
        | "war" | "whl" | "deb" | "rpm" | "apk" | "iso" | "dmg" => "archive",
        "png" | "jpg" | "jpeg" | "gif" | "bmp" | "tif" | "tiff" | "webp" | "svg" | "ico" | "heic" | "psd" => "image",
        "pdf" | "doc" | "docx" | "xls" | "xlsx" | "ppt" | "pptx" | "odt" | "ods" | "odp" | "rtf" | "epub" => "document",
        "csv" | "tsv" if !tables_too => "table",
        "exe" | "dll" | "so" | "dylib" | "o" | "a" | "class" | "pyc" | "wasm" | "cwasm" | "bin" => "program",
        "mp3" | "mp4" | "m4a" | "mov" | "avi" | "mkv" | "wav" | "flac" | "ogg" | "webm" => "media",
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_and_images_are_binary_and_logs_are_not() {
        let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00";
        assert!(binary_reason(elf).unwrap().contains("NUL byte at byte 7"));
        assert!(binary_reason(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").is_some());
        let noise: Vec<u8> = (0..1024u32).map(|n| (n * 131 % 251) as u8 | 0x80).collect();
        assert!(binary_reason(&noise).unwrap().contains("are not text"));
        assert_eq!(binary_reason(b"2024-05-01 10:00:00 INFO started\n\x1b[31mred\x1b[0m\tok\n"), None);
        assert_eq!(binary_reason(b""), None);
    }

    #[test]
    fn a_few_stray_bytes_or_a_character_cut_at_the_end_are_still_text() {
        let mut latin1 = b"user M\xfcller logged in\n".repeat(10);
        latin1.truncate(200);
        assert_eq!(binary_reason(&latin1), None);
        let mut text = "é".repeat(SNIFF_BYTES / 2 + 1).into_bytes();
        text.truncate(SNIFF_BYTES - 1);
        text.push(0xc3);
        assert_eq!(binary_reason(&text), None, "the last character is cut, not invalid");
    }

    #[test]
    fn extensions_name_what_is_not_a_log() {
        assert_eq!(not_a_log(Path::new("logs/app.log"), false), None);
        assert_eq!(not_a_log(Path::new("logs/app.log.gz"), false), None);
        assert_eq!(not_a_log(Path::new("logs/app"), false), None);
        assert_eq!(not_a_log(Path::new("logs/old.tar"), false), Some("archive"));
        assert_eq!(not_a_log(Path::new("logs/old.ZIP"), false), Some("archive"));
        assert_eq!(not_a_log(Path::new("logs/shot.png"), false), Some("image"));
        assert_eq!(not_a_log(Path::new("logs/notes.pdf"), false), Some("document"));
        assert_eq!(not_a_log(Path::new("logs/labels.csv"), false), Some("table"));
        assert_eq!(not_a_log(Path::new("logs/labels.csv"), true), None);
    }
}

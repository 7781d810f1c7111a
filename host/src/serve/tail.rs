//! Live tailing (`opsloop serve --watch DIR_OR_GLOB`): new files and appended lines are read
//! within a second and go through the writer like any other records.
//!
//! A file is known by its identity (device and inode), not its name, so a rotation (the file
//! renamed away, a new one created under the old name) neither re-reads the renamed file nor
//! loses what was appended to it just before: its open handle is read to the end first. A file
//! that shrank, or whose first bytes changed, was truncated or rewritten, and is read from the
//! start. Where each file stands is committed with its records (key `tail:<dev>:<inode>` plus a
//! digest of the first bytes), so a restart neither loses nor duplicates a line.
//!
//! Only complete lines are read; while a file is still growing, its last record waits one round
//! for continuation lines (a stack trace written in two pieces stays one record). Compressed
//! and hidden files are not tailed (a rotated `app.log.2.gz` holds lines already read).
//!
//! On a cluster node (`serve --cluster`) the records go to the cluster's ingest log instead,
//! and where each file stands is kept in `cluster/tail-checkpoints.json` of the node's data
//! directory. Before a range of a file is published, the range is written there as in flight;
//! its messages' ids are made of the file's identity, its first bytes' digest and the range.
//! A node that dies before the checkpoint that follows JetStream's acknowledgement reads the
//! same range again at its restart, however much the file grew, and publishes it with the
//! same ids, which JetStream recognises within `duplicate_window_s`: a line is stored once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use notify::Watcher;
use serde::{Deserialize, Serialize};

use super::ingestor::{CommitMode, Ingestor, Outcome, Work, count_rejections};
use super::metrics::Metrics;
use crate::ingest::{Format, Input, LineParser, ParseOptions, ReadPosition, Rejections, head_digest, read_records};
use crate::pipeline::{Checkpoints, FileCheckpoint, HEAD_BYTES};

/// The most bytes read from one file in one round.
const CHUNK_BYTES: u64 = 8 << 20;

/// How often files are looked at when no change event came.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// A file rotated or deleted away is closed after it has been idle this long.
const CLOSE_AFTER: Duration = Duration::from_secs(5);

/// What `--watch` names: a directory (every file in it) or a glob.
#[derive(Debug, Clone)]
pub enum WatchSpec {
    Dir(PathBuf),
    Glob(String),
}

impl WatchSpec {
    /// A directory if `text` is one, else a glob (a plain file path is a glob matching itself).
    pub fn parse(text: &str) -> Result<Self, String> {
        let path = Path::new(text);
        if path.is_dir() {
            return Ok(Self::Dir(path.to_path_buf()));
        }
        glob::Pattern::new(text).map_err(|error| format!("--watch {text}: not a directory or a glob: {error}"))?;
        Ok(Self::Glob(text.to_string()))
    }

    /// The directory to watch for change events.
    fn watched_dir(&self) -> PathBuf {
        match self {
            Self::Dir(dir) => dir.clone(),
            Self::Glob(pattern) => {
                let mut dir = PathBuf::new();
                for component in Path::new(pattern).components() {
                    let text = component.as_os_str().to_string_lossy();
                    if text.contains(['*', '?', '[']) {
                        break;
                    }
                    dir.push(component);
                }
                if dir.is_dir() { dir } else { dir.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf) }
            }
        }
    }

    fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = match self {
            Self::Dir(dir) => std::fs::read_dir(dir)
                .map(|entries| entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect())
                .unwrap_or_default(),
            Self::Glob(pattern) => {
                glob::glob(pattern).map(|paths| paths.filter_map(Result::ok).collect()).unwrap_or_default()
            }
        };
        paths.retain(|path| is_tailable(path));
        paths
    }
}

fn is_tailable(path: &Path) -> bool {
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let compressed = [".gz", ".bz2", ".xz", ".zst", ".zip"].iter().any(|ext| name.ends_with(ext));
    !name.starts_with('.') && !compressed && path.is_file()
}

type FileId = (u64, u64);

struct TailedFile {
    path: PathBuf,
    file: File,
    position: ReadPosition,
    /// The parser, once the file's format is known.
    parser: Option<(Format, LineParser)>,
    /// The size seen last round (a file that stopped growing gives up its last record).
    last_size: u64,
    last_change: Instant,
    /// Whether the file still sits under a watched name this round.
    present: bool,
}

/// Where tailed records go.
pub enum TailSink {
    /// The node's own writer; where each file stands is committed with its records.
    Local(Arc<Ingestor>),
    /// A cluster's ingest log.
    Cluster(ClusterTail),
}

/// A cluster node's way into the ingest log, and the file its checkpoints are kept in.
pub struct ClusterTail {
    pub log: crate::cluster::log::BlockingLog,
    pub checkpoint_file: PathBuf,
}

/// What `cluster/tail-checkpoints.json` holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ClusterTailState {
    files: BTreeMap<String, FileCheckpoint>,
    /// Ranges being published, by file: read again exactly, and published with the same ids,
    /// after a restart.
    in_flight: BTreeMap<String, InFlight>,
}

/// A range of a file being published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct InFlight {
    start: u64,
    end: u64,
}

impl ClusterTail {
    /// Where the node's tailed files stood, and the ranges in flight when it stopped.
    fn load(&self) -> anyhow::Result<ClusterTailState> {
        match std::fs::read(&self.checkpoint_file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|error| anyhow::anyhow!("{}: unreadable: {error}", self.checkpoint_file.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(ClusterTailState::default()),
            Err(error) => Err(anyhow::anyhow!("{}: {error}", self.checkpoint_file.display())),
        }
    }

    /// Written beside, synced, then renamed over: a restart reads the old state or the new.
    fn save(&self, state: &ClusterTailState) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(dir) = self.checkpoint_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let staging = self.checkpoint_file.with_extension("json.new");
        let mut file = File::create(&staging)?;
        file.write_all(&serde_json::to_vec(state)?)?;
        file.sync_data()?;
        std::fs::rename(&staging, &self.checkpoint_file)
    }
}

/// Follows the watched files until told to stop.
pub struct Tailer {
    specs: Vec<WatchSpec>,
    parse: ParseOptions,
    files: HashMap<FileId, TailedFile>,
    checkpoints: Checkpoints,
    sink: TailSink,
    /// A cluster node's ranges in flight, by file key.
    in_flight: BTreeMap<String, InFlight>,
    metrics: Arc<Metrics>,
}

fn key(id: FileId) -> String {
    format!("tail:{}:{}", id.0, id.1)
}

fn head_of(file: &File, length: u64) -> Option<String> {
    let mut head = vec![0u8; length as usize];
    file.read_exact_at(&mut head, 0).ok()?;
    Some(head_digest(&head))
}

impl Tailer {
    /// A tailer starting from `checkpoints` (a single node's, read from its index); a cluster
    /// sink reads its own file instead.
    pub fn new(
        specs: Vec<WatchSpec>,
        parse: ParseOptions,
        checkpoints: Checkpoints,
        sink: TailSink,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let (checkpoints, in_flight) = match &sink {
            TailSink::Local(_) => (checkpoints, BTreeMap::new()),
            TailSink::Cluster(cluster) => {
                let state = cluster.load()?;
                (Checkpoints { files: state.files, wal_seq: 0 }, state.in_flight)
            }
        };
        Ok(Self { specs, parse, files: HashMap::new(), checkpoints, sink, in_flight, metrics })
    }

    /// Tails until `stop` is set; what was read by then is committed before this returns.
    pub fn run(mut self, stop: Arc<AtomicBool>) {
        let (events, wake) = std::sync::mpsc::channel();
        // Reading a file or listing the directory is an event too (inotify's open and close):
        // waking on those made every round start the next at once, a core spinning.
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|event| !matches!(event.kind, notify::EventKind::Access(_))) {
                let _ = events.send(());
            }
        });
        match &mut watcher {
            Ok(watcher) => {
                for dir in self.specs.iter().map(WatchSpec::watched_dir).collect::<HashSet<_>>() {
                    if let Err(error) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
                        tracing::warn!(dir = %dir.display(), %error, "cannot watch for changes; polling instead");
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "file change events unavailable; polling instead"),
        }
        while !stop.load(Ordering::SeqCst) {
            self.round();
            let _ = wake.recv_timeout(POLL_EVERY);
            while wake.try_recv().is_ok() {}
        }
        self.round();
    }

    /// One look at every watched file: new files opened, new lines read and committed.
    pub fn round(&mut self) {
        self.scan();
        let mut waiting: Vec<(FileId, ReadPosition, tokio::sync::oneshot::Receiver<Outcome>)> = Vec::new();
        let ids: Vec<FileId> = self.files.keys().copied().collect();
        for id in ids {
            if let Some((previous, receiver)) = self.read_new(id) {
                waiting.push((id, previous, receiver));
            }
        }
        for (id, previous, receiver) in waiting {
            let outcome = receiver.blocking_recv().unwrap_or_else(|_| Err("the writer stopped".into()));
            if let Err(error) = outcome
                && let Some(tailed) = self.files.get_mut(&id)
            {
                tracing::error!(file = %tailed.path.display(), %error, "tailed lines not committed; they will be read again");
                tailed.position = previous;
            }
        }
        let now = Instant::now();
        self.files.retain(|_, tailed| tailed.present || now.duration_since(tailed.last_change) < CLOSE_AFTER);
    }

    fn scan(&mut self) {
        for tailed in self.files.values_mut() {
            tailed.present = false;
        }
        let paths: Vec<PathBuf> = self.specs.iter().flat_map(WatchSpec::paths).collect();
        for path in paths {
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            let id = (meta.dev(), meta.ino());
            if let Some(tailed) = self.files.get_mut(&id) {
                tailed.path = path;
                tailed.present = true;
                continue;
            }
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "cannot open a watched file");
                    continue;
                }
            };
            let position = match self.checkpoints.files.get(&key(id)) {
                Some(known) if head_of(&file, known.head_len).as_deref() == Some(known.head.as_str()) => {
                    ReadPosition { offset: known.offset, line: known.line }
                }
                Some(_) => {
                    tracing::info!(file = %path.display(), "file was rewritten since it was tailed; reading it from the start");
                    ReadPosition::default()
                }
                None => ReadPosition::default(),
            };
            tracing::info!(file = %path.display(), offset = position.offset, "tailing");
            self.files.insert(
                id,
                TailedFile {
                    path,
                    file,
                    position,
                    parser: None,
                    last_size: u64::MAX,
                    last_change: Instant::now(),
                    present: true,
                },
            );
        }
    }

    /// Reads what `id` gained and queues it; returns the position before, and the commit's answer.
    fn read_new(&mut self, id: FileId) -> Option<(ReadPosition, tokio::sync::oneshot::Receiver<Outcome>)> {
        let tailed = self.files.get_mut(&id)?;
        let size = tailed.file.metadata().ok()?.len();
        let rewritten = tailed.position.offset > 0 && {
            let known = self.checkpoints.files.get(&key(id));
            known.is_some_and(|known| head_of(&tailed.file, known.head_len).as_deref() != Some(known.head.as_str()))
        };
        if size < tailed.position.offset || rewritten {
            tracing::info!(file = %tailed.path.display(), "file was truncated; reading it from the start");
            tailed.position = ReadPosition::default();
            tailed.parser = None;
        }
        let grew = size != tailed.last_size;
        if grew {
            tailed.last_size = size;
            tailed.last_change = Instant::now();
        }
        if size == tailed.position.offset {
            return None;
        }
        // A range published before a restart is read again exactly as it was.
        let again = self
            .in_flight
            .get(&key(id))
            .copied()
            .filter(|range| range.start == tailed.position.offset && range.end <= size);
        let length = match again {
            Some(range) => range.end - range.start,
            None => (size - tailed.position.offset).min(CHUNK_BYTES),
        };
        let mut chunk = vec![0u8; length as usize];
        tailed.file.read_exact_at(&mut chunk, tailed.position.offset).ok()?;
        let idle = !grew && tailed.last_change.elapsed() >= POLL_EVERY;
        let mut cut = match memchr::memrchr(b'\n', &chunk) {
            _ if again.is_some() => chunk.len(),
            Some(end) => end + 1,
            // A last line without its newline is taken only from a file that was rotated away.
            None if idle && !tailed.present => chunk.len(),
            None => return None,
        };
        if tailed.parser.is_none() {
            let text = String::from_utf8_lossy(&chunk[..cut]);
            let sample: Vec<&str> =
                text.lines().filter(|line| !line.trim().is_empty()).take(crate::ingest::DETECTION_SAMPLE).collect();
            let parser = match LineParser::forced(self.parse.format, self.parse.pattern.as_deref()) {
                _ if self.parse.format == Format::Header => {
                    match LineParser::header(self.parse.pattern.as_deref(), &sample) {
                        Ok(parser) => parser,
                        Err(reason) => {
                            tracing::error!(file = %tailed.path.display(), %reason, "cannot read tailed lines");
                            return None;
                        }
                    }
                }
                Ok(Some(parser)) => parser,
                _ => LineParser::detect(&sample),
            };
            let format = <Format as clap::ValueEnum>::from_str(parser.name(), true).unwrap_or(Format::Raw);
            tailed.parser = Some((format, parser));
        }
        let (format, parser) = tailed.parser.as_ref().expect("set above");
        let joins_lines = !matches!(parser, LineParser::Raw | LineParser::Json | LineParser::Clf);
        if joins_lines && !idle && length < CHUNK_BYTES && again.is_none() {
            // The last record may still get continuation lines: it waits for the file to pause.
            cut = last_record_start(&chunk[..cut], parser).unwrap_or(cut);
            if cut == 0 {
                return None;
            }
        }
        chunk.truncate(cut);
        // A learned header layout is handed on as `--pattern` would give it.
        let pattern = parser.pattern_spec().or_else(|| self.parse.pattern.clone());
        let options = ParseOptions { format: *format, pattern, ..self.parse.clone() };
        let name = tailed.path.display().to_string();
        let start = tailed.position;
        let mut records = Vec::new();
        let mut rejections = Rejections::default();
        let read = read_records::<crate::ingest::IngestError>(
            Input::from_bytes(&name, chunk),
            &options,
            crate::pipeline::DEFAULT_BATCH_SIZE,
            start,
            &mut rejections,
            |batch, _| {
                records.extend(batch);
                Ok(())
            },
        );
        count_rejections(&self.metrics, &rejections);
        let lines = match read {
            Ok(read) => read.lines,
            Err(error) => {
                tracing::error!(file = %name, %error, "cannot parse tailed lines");
                return None;
            }
        };
        let end = ReadPosition { offset: start.offset + cut as u64, line: start.line + lines };
        let head_len = end.offset.min(HEAD_BYTES);
        let head = head_of(&tailed.file, head_len)?;
        let checkpoint =
            FileCheckpoint { offset: end.offset, line: end.line, head_len, head: head.clone(), open_line: None };
        self.metrics.records_in.inc_by(records.len() as u64);
        let count = records.len();
        let ingestor = match &self.sink {
            TailSink::Local(ingestor) => ingestor,
            TailSink::Cluster(cluster) => {
                let range = InFlight { start: start.offset, end: end.offset };
                let message_key = format!("{}:{head}:{}-{}", key(id), range.start, range.end);
                let file = (key(id), checkpoint);
                match publish_tailed(
                    cluster,
                    &mut self.in_flight,
                    &mut self.checkpoints,
                    file,
                    range,
                    records,
                    &message_key,
                ) {
                    Ok(()) => tailed.position = end,
                    Err(error) => {
                        tracing::error!(file = %name, error = format!("{error:#}"), "tailed lines not published to the cluster; they will be read again")
                    }
                }
                return None;
            }
        };
        self.checkpoints.files.insert(key(id), checkpoint.clone());
        tailed.position = end;
        let work = Work::Logs { records, checkpoint: Some((key(id), checkpoint)), commit: CommitMode::Auto };
        match ingestor.submit_waiting(work, count) {
            Ok(receiver) => Some((start, receiver)),
            Err(error) => {
                tracing::error!(file = %name, %error, "tailed lines not queued");
                tailed.position = start;
                None
            }
        }
    }
}

/// Publishes one range of a tailed file to the cluster's ingest log: the range is saved as in
/// flight first, and the file's checkpoint moves past it once JetStream acknowledged it.
fn publish_tailed(
    cluster: &ClusterTail,
    in_flight: &mut BTreeMap<String, InFlight>,
    checkpoints: &mut Checkpoints,
    (file_key, checkpoint): (String, FileCheckpoint),
    range: InFlight,
    records: Vec<crate::ingest::Record>,
    message_key: &str,
) -> anyhow::Result<()> {
    let save = |in_flight: &BTreeMap<String, InFlight>, checkpoints: &Checkpoints| {
        let state = ClusterTailState { files: checkpoints.files.clone(), in_flight: in_flight.clone() };
        cluster.save(&state).map_err(|error| anyhow::anyhow!("{}: {error}", cluster.checkpoint_file.display()))
    };
    if in_flight.get(&file_key) != Some(&range) {
        in_flight.insert(file_key.clone(), range);
        save(in_flight, checkpoints)?;
    }
    cluster.log.append(records, Some(message_key))?;
    in_flight.remove(&file_key);
    checkpoints.files.insert(file_key, checkpoint);
    save(in_flight, checkpoints)
}

/// Where the last line that starts a record begins in `text` (complete lines), if after 0.
fn last_record_start(text: &[u8], parser: &LineParser) -> Option<usize> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let mut end = body.len();
    while let Some(newline) = memchr::memrchr(b'\n', &body[..end]) {
        let line = String::from_utf8_lossy(&body[newline + 1..end]);
        if !parser.continues_record(line.trim_end_matches('\r')) {
            return Some(newline + 1);
        }
        end = newline;
    }
    // The first line starts the last record: nothing can be handed over yet.
    let line = String::from_utf8_lossy(&body[..end]);
    if parser.continues_record(&line) { None } else { Some(0) }
}

//! The syslog receiver (`opsloop serve --syslog tcp://127.0.0.1:6514 --syslog udp://…:5514`):
//! what rsyslog's and syslog-ng's forwarders, `logger -n` and network devices send, RFC 5424
//! or RFC 3164, over TCP with octet-counting or newline framing (RFC 6587) or one message per
//! UDP datagram.
//!
//! Messages are read by the same syslog parsers as files (and rsyslog's forward format, the BSD
//! layout with an RFC 3339 time); the APP-NAME (5424) or TAG (3164) is the source, `syslog`
//! when there is none; the PRI's facility is the field `facility`; a message neither RFC
//! reads is kept whole as a raw record, its PRI (if any) giving the level. A message longer than a record may be
//! (`DEFAULT_MAX_LINE_BYTES`) or with a time the index cannot hold is refused and counted
//! (`rejected` metric, by reason, and a warning in the server's log).
//!
//! Each connection (and the UDP socket) gathers records into batches handed to the writer at
//! least every [`FLUSH_INTERVAL`]; a full writer blocks the reading, so TCP senders are slowed,
//! not dropped. A stopping server still takes the connections the kernel accepted and reads
//! what was sent on each until the sender is quiet (at most 5 s), then commits it. Syslog has
//! no acknowledgement: what a sender wrote before a crash may be lost if it was not yet in the
//! write-ahead log (at most one flush interval's worth), as with any receiver without RELP.
//! UDP has no flow control either: datagrams that arrive while the receive buffer is full are
//! dropped by the kernel. The receiver reads the kernel's count of them for its socket
//! ([`KernelDrops`]) and adds it to the `syslog_udp_dropped` metric, so a loss is seen.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::ingestor::{CommitMode, Ingestor, Work, count_rejections};
use super::metrics::Metrics;
use crate::ingest::{DEFAULT_MAX_LINE_BYTES, Origin, Record, Rejections, storable};

/// How long received records may wait before they are handed to the writer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// The receive buffer the syslog UDP socket asks for.
const UDP_RECEIVE_BUFFER: usize = 16 << 20;
/// How long a stopping server goes on reading what senders already sent, at most.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// Records handed to the writer at once, at most.
const BATCH_RECORDS: usize = 2_000;
/// TCP connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 512;
/// The source of messages that name no app.
const DEFAULT_SOURCE: &str = "syslog";

/// A transport and address to receive syslog on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogSpec {
    pub transport: Transport,
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
    /// TCP under TLS (RFC 5425), with the server's `--tls-cert`.
    Tls,
}

impl SyslogSpec {
    /// Reads `tcp://host:port`, `udp://host:port` or `tls://host:port`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, address) = text.split_once("://").ok_or_else(|| {
            format!("--syslog {text}: tcp://<host>:<port>, udp://<host>:<port> or tls://<host>:<port>")
        })?;
        let transport = match scheme {
            "tcp" => Transport::Tcp,
            "udp" => Transport::Udp,
            "tls" => Transport::Tls,
            other => return Err(format!("--syslog {text}: the transport `{other}` is not tcp, udp or tls")),
        };
        if address.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_err()) {
            return Err(format!("--syslog {text}: `{address}` is not <host>:<port>"));
        }
        Ok(Self { transport, address: address.to_string() })
    }
}

/// The bound receivers: their addresses (as `tcp://…`, `udp://…`) and threads.
pub struct SyslogReceivers {
    pub addresses: Vec<String>,
    pub threads: Vec<JoinHandle<()>>,
}

/// Where syslog records go.
#[derive(Clone)]
pub enum SyslogSink {
    /// The node's own writer.
    Writer(Arc<Ingestor>),
    /// A cluster's ingest log (`serve --cluster`): a batch is stored once JetStream
    /// acknowledged it. Syslog has no acknowledgement of its own to wait for.
    Cluster(crate::cluster::log::BlockingLog),
}

/// Binds every spec (an address that cannot be bound stops the start) and starts receiving.
pub fn start(
    specs: &[SyslogSpec],
    destination: &SyslogSink,
    metrics: &Arc<Metrics>,
    stop: &Arc<AtomicBool>,
    tls: Option<&Arc<rustls::ServerConfig>>,
) -> anyhow::Result<SyslogReceivers> {
    let mut receivers = SyslogReceivers { addresses: Vec::new(), threads: Vec::new() };
    for spec in specs {
        let stop = stop.clone();
        match spec.transport {
            Transport::Tcp | Transport::Tls => {
                let (scheme, tls) = match spec.transport {
                    Transport::Tls => {
                        let config = tls.cloned().ok_or_else(|| {
                            anyhow::anyhow!("--syslog tls://{} needs --tls-cert and --tls-key", spec.address)
                        })?;
                        ("tls", Some(config))
                    }
                    _ => ("tcp", None),
                };
                let listener = TcpListener::bind(&spec.address)
                    .map_err(|error| anyhow::anyhow!("--syslog {scheme}://{}: cannot listen: {error}", spec.address))?;
                listener.set_nonblocking(true)?;
                receivers.addresses.push(format!("{scheme}://{}", listener.local_addr()?));
                let (destination, metrics) = (destination.clone(), metrics.clone());
                receivers.threads.push(
                    std::thread::Builder::new()
                        .name(format!("opsloop-syslog-{scheme}"))
                        .spawn(move || accept_loop(listener, &destination, &metrics, &stop, tls))?,
                );
            }
            Transport::Udp => {
                let socket = UdpSocket::bind(&spec.address)
                    .map_err(|error| anyhow::anyhow!("--syslog udp://{}: cannot listen: {error}", spec.address))?;
                socket.set_read_timeout(Some(FLUSH_INTERVAL))?;
                // A burst beyond the receive buffer is dropped by the kernel, unseen: ask for a
                // larger one (the kernel gives at most net.core.rmem_max).
                if let Err(error) = socket2::SockRef::from(&socket).set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
                    tracing::warn!(%error, "syslog UDP receive buffer left at the system default");
                }
                receivers.addresses.push(format!("udp://{}", socket.local_addr()?));
                let mut sink = Batcher::new(destination.clone(), metrics.clone());
                let mut drops = KernelDrops::of(&socket);
                if drops.is_none() {
                    tracing::warn!("syslog UDP: the kernel's count of dropped datagrams cannot be read here");
                }
                receivers.threads.push(
                    std::thread::Builder::new()
                        .name("opsloop-syslog-udp".into())
                        .spawn(move || receive_datagrams(&socket, &mut sink, drops.as_mut(), &stop))?,
                );
            }
        }
    }
    Ok(receivers)
}

fn accept_loop(
    listener: TcpListener,
    destination: &SyslogSink,
    metrics: &Arc<Metrics>,
    stop: &Arc<AtomicBool>,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    loop {
        // Checked before the accept: once stopping, the connections the kernel has already
        // accepted are still taken (and read to their end), then no more.
        let stopping = stop.load(Ordering::SeqCst);
        match listener.accept() {
            Ok((stream, peer)) => {
                connections.retain(|thread| !thread.is_finished());
                // Finished threads were dropped just above: what is left is still reading.
                if connections.len() >= MAX_CONNECTIONS {
                    tracing::warn!(%peer, "syslog connection refused: {MAX_CONNECTIONS} are open");
                    continue;
                }
                let mut sink = Batcher::new(destination.clone(), metrics.clone());
                let stop = stop.clone();
                let tls = tls.clone();
                let spawned = std::thread::Builder::new().name("opsloop-syslog-conn".into()).spawn(move || {
                    read_connection(stream, peer, &mut sink, &stop, tls);
                });
                match spawned {
                    Ok(thread) => connections.push(thread),
                    Err(error) => tracing::error!(%error, "syslog connection not served"),
                }
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                if stopping {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => {
                if stopping {
                    break;
                }
                tracing::warn!(%error, "syslog accept failed");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    for thread in connections {
        let _ = thread.join();
    }
}

/// Reads one TCP connection's frames until it closes or, once the server stops, until the
/// sender has been quiet for a flush interval (at most [`DRAIN_LIMIT`]): what the kernel
/// already holds for the connection is read and stored, not dropped. With `tls`, the frames
/// are read from inside the TLS session.
fn read_connection(
    stream: TcpStream,
    peer: SocketAddr,
    sink: &mut Batcher,
    stop: &AtomicBool,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    if stream.set_nonblocking(false).and_then(|()| stream.set_read_timeout(Some(FLUSH_INTERVAL))).is_err() {
        return;
    }
    match tls {
        None => read_frames(stream, &format!("syslog:tcp:{peer}"), sink, stop),
        Some(config) => match rustls::ServerConnection::new(config) {
            Ok(session) => {
                read_frames(rustls::StreamOwned::new(session, stream), &format!("syslog:tls:{peer}"), sink, stop)
            }
            Err(error) => tracing::warn!(%peer, %error, "syslog TLS session not started"),
        },
    }
}

fn read_frames(mut stream: impl Read, name: &str, sink: &mut Batcher, stop: &AtomicBool) {
    let mut framer = Framer::default();
    let mut chunk = vec![0u8; 64 << 10];
    let mut stopping = Stopping::default();
    while !stopping.past_limit(stop) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => framer.feed(&chunk[..read], |frame, problem| sink.take(name, frame, problem)),
            // Quiet for a flush interval: once stopping, all that was sent is read.
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stopping.started() {
                    break;
                }
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        sink.flush_if_due();
    }
    // A last message without its newline is still one.
    framer.finish(|frame, problem| sink.take(name, frame, problem));
    sink.flush();
}

fn receive_datagrams(socket: &UdpSocket, sink: &mut Batcher, mut drops: Option<&mut KernelDrops>, stop: &AtomicBool) {
    let mut datagram = vec![0u8; 65_536];
    let mut stopping = Stopping::default();
    let mut drops_read = Instant::now();
    while !stopping.past_limit(stop) {
        if drops_read.elapsed() >= DROPS_EVERY {
            drops_read = Instant::now();
            if let Some(dropped) = drops.as_deref_mut().and_then(KernelDrops::new_drops) {
                sink.metrics.syslog_udp_dropped.inc_by(dropped);
            }
        }
        match socket.recv_from(&mut datagram) {
            Ok((length, peer)) => {
                let name = format!("syslog:udp:{peer}");
                let frame = &datagram[..length];
                let frame = frame.strip_suffix(b"\n").unwrap_or(frame);
                sink.take(&name, frame, None);
            }
            // Quiet for a flush interval: once stopping, the datagrams received are read.
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if stopping.started() {
                    break;
                }
            }
            Err(error) => tracing::warn!(%error, "syslog datagram not read"),
        }
        sink.flush_if_due();
    }
    sink.flush();
}

/// How often the UDP receiver reads the kernel's count of datagrams it dropped.
const DROPS_EVERY: Duration = Duration::from_secs(1);

/// The kernel's count of datagrams dropped on one UDP socket (its receive buffer full), read
/// from `/proc/net/udp` and `/proc/net/udp6` by the socket's inode (Linux).
pub struct KernelDrops {
    inode: u64,
    /// The count at the last reading.
    seen: u64,
}

impl KernelDrops {
    /// The count for `socket`; `None` where the kernel does not tell it.
    pub fn of(socket: &UdpSocket) -> Option<Self> {
        use std::os::fd::AsRawFd;
        let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
        let inode = link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()?;
        let mut drops = Self { inode, seen: 0 };
        drops.seen = drops.total()?;
        Some(drops)
    }

    /// Datagrams dropped since the last reading.
    pub fn new_drops(&mut self) -> Option<u64> {
        let total = self.total()?;
        let new = total.saturating_sub(self.seen);
        self.seen = total;
        Some(new)
    }

    /// The socket's line in the kernel's tables: `sl local rem st tx:rx tr:when retrnsmt uid
    /// timeout inode ref pointer drops`.
    fn total(&self) -> Option<u64> {
        ["/proc/net/udp", "/proc/net/udp6"].iter().find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|line| {
                let columns: Vec<&str> = line.split_whitespace().collect();
                (columns.get(9)?.parse::<u64>().ok()? == self.inode).then(|| columns.last()?.parse().ok())?
            })
        })
    }
}

/// Where a receiver stands in stopping: once the server stops it reads on until its sender is
/// quiet for a flush interval, but not past [`DRAIN_LIMIT`].
#[derive(Default)]
struct Stopping {
    until: Option<Instant>,
}

impl Stopping {
    /// Notes a stop (the first time it is seen); whether the reading must end now.
    fn past_limit(&mut self, stop: &AtomicBool) -> bool {
        if self.until.is_none() && stop.load(Ordering::SeqCst) {
            self.until = Some(Instant::now() + DRAIN_LIMIT);
        }
        self.until.is_some_and(|until| Instant::now() >= until)
    }

    /// Whether the server is stopping (so a quiet sender ends the reading).
    fn started(&self) -> bool {
        self.until.is_some()
    }
}

/// Splits a TCP byte stream into messages: `<length> <message>` (octet counting) when a
/// frame starts with digits and a space, else up to a newline.
#[derive(Default)]
struct Framer {
    buffer: Vec<u8>,
    /// Bytes of an oversized octet-counted frame still to skip.
    skip: usize,
    /// Skipping an oversized newline-framed message up to its newline.
    discarding: bool,
}

/// Why a frame was dropped before parsing.
const TOO_LONG: &str = "message too long";

impl Framer {
    fn feed(&mut self, bytes: &[u8], mut emit: impl FnMut(&[u8], Option<&str>)) {
        self.buffer.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            if self.skip > 0 {
                let skipped = self.skip.min(self.buffer.len() - start);
                start += skipped;
                self.skip -= skipped;
                if self.skip > 0 {
                    break;
                }
            }
            let rest = &self.buffer[start..];
            if self.discarding {
                match rest.iter().position(|byte| *byte == b'\n') {
                    Some(at) => {
                        start += at + 1;
                        self.discarding = false;
                    }
                    None => {
                        start = self.buffer.len();
                        break;
                    }
                }
                continue;
            }
            if rest.is_empty() {
                break;
            }
            if let Some((length, header)) = octet_count(rest) {
                if length > DEFAULT_MAX_LINE_BYTES {
                    emit(b"", Some(TOO_LONG));
                    start += header;
                    self.skip = length;
                    continue;
                }
                if rest.len() < header + length {
                    break;
                }
                emit(&rest[header..header + length], None);
                start += header + length;
                // Some senders put a newline after a counted frame too.
                if self.buffer.get(start) == Some(&b'\n') {
                    start += 1;
                }
                continue;
            }
            match rest.iter().position(|byte| *byte == b'\n') {
                Some(at) => {
                    // A blank line (such as the newline some senders put after a counted
                    // frame, read apart from it) is no message.
                    if !rest[..at].iter().all(u8::is_ascii_whitespace) {
                        emit(&rest[..at], None);
                    }
                    start += at + 1;
                }
                None if rest.len() > DEFAULT_MAX_LINE_BYTES => {
                    emit(b"", Some(TOO_LONG));
                    start = self.buffer.len();
                    self.discarding = true;
                    break;
                }
                None => break,
            }
        }
        self.buffer.drain(..start);
    }

    /// The connection closed: a last message without its newline is still one.
    fn finish(&mut self, mut emit: impl FnMut(&[u8], Option<&str>)) {
        if !self.buffer.is_empty() && self.skip == 0 && !self.discarding && octet_count(&self.buffer).is_none() {
            emit(&self.buffer, None);
        }
        self.buffer.clear();
    }
}

/// `<digits> ` at the start of `bytes`: the frame length and the header's length.
fn octet_count(bytes: &[u8]) -> Option<(usize, usize)> {
    let digits = bytes.iter().take(11).take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 || digits > 10 {
        return None;
    }
    // Digits not yet followed by anything read as newline framing until more bytes come (which
    // waits for them too, as no newline is there yet).
    match bytes.get(digits) {
        Some(b' ') => std::str::from_utf8(&bytes[..digits]).ok()?.parse().ok().map(|length| (length, digits + 1)),
        _ => None,
    }
}

/// Reads one message into a record.
pub fn record_of(frame: &[u8], origin: Origin) -> Result<Record, String> {
    let text = String::from_utf8_lossy(frame);
    let text = text.trim_end_matches(['\r', '\n', '\0']);
    if text.trim().is_empty() {
        return Err("empty message".into());
    }
    let parsed = if is_rfc5424(text) {
        crate::ingest::syslog::parse_rfc5424(text, DEFAULT_SOURCE, origin.clone())
    } else {
        crate::ingest::syslog::parse_rfc3164(text, DEFAULT_SOURCE, origin.clone())
    };
    let mut record = match parsed.or_else(|_| forward_format(text, origin.clone())) {
        Ok(mut record) => {
            if let Some(app) = record.fields.get("app").and_then(|app| app.as_str()) {
                record.source = app.to_string();
            }
            record
        }
        Err(_) => raw_record(text, origin),
    };
    if let Some(facility) = facility_of(text) {
        record.fields.insert("facility".into(), facility.into());
    }
    // rsyslog's `%msg%` of a BSD message starts with the space after the tag's colon.
    if let Some(message) = record.message.strip_prefix(' ') {
        record.message = message.to_string();
    }
    if let Some(ms) = record.timestamp_ms.filter(|ms| !storable(*ms)) {
        return Err(format!(
            "timestamp out of range: {ms} ms since the epoch; the index stores 1677-09-21 to 2262-04-11"
        ));
    }
    Ok(record)
}

/// What rsyslog forwards when not told to use RFC 5424: the BSD layout with an RFC 3339 time
/// (`RSYSLOG_ForwardFormat`, `<PRI>2026-12-06T02:36:10.123456+00:00 HOST TAG[PID]: MSG`) or
/// with a BSD time, and the tag without its colon when the message came in as RFC 5424 (the
/// TAG is then its APP-NAME): `<PRI>Dec  6 02:36:10 HOST TAG MSG`. Tried only after the strict
/// parsers, so the first word after the host is the tag.
fn forward_format(text: &str, origin: Origin) -> Result<Record, String> {
    static FORWARD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?s)^<(\d{1,3})>(\d{4}-\d\d-\d\dT\S+|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}) (\S+) ([^:\[\] ]{1,64})(?:\[(\d+)\])?:? ?(.*)$",
        )
        .unwrap()
    });
    let captures = FORWARD.captures(text).ok_or("not rsyslog's forward format")?;
    let part = |i: usize| captures.get(i).map_or("", |m| m.as_str());
    let mut record = Record::new(DEFAULT_SOURCE, part(6).to_string(), origin);
    record.level = crate::ingest::syslog::level_of(part(1));
    record.timestamp_ms =
        Some(crate::ingest::parse_timestamp_text(part(2)).ok_or_else(|| format!("unreadable timestamp: {}", part(2)))?);
    for (key, index) in [("host", 3), ("app", 4), ("pid", 5)] {
        if !part(index).is_empty() {
            record.fields.insert(key.into(), part(index).into());
        }
    }
    Ok(record)
}

/// The facility a message's PRI names (`kern`, `user`, ..., `local7`), as rsyslog spells it.
fn facility_of(text: &str) -> Option<&'static str> {
    const FACILITIES: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    let (pri, _) = text.strip_prefix('<')?.split_once('>')?;
    let pri: usize = pri.parse().ok().filter(|_| pri.len() <= 3)?;
    FACILITIES.get(pri / 8).copied()
}

fn is_rfc5424(text: &str) -> bool {
    text.strip_prefix('<')
        .and_then(|rest| rest.split_once('>'))
        .is_some_and(|(pri, rest)| pri.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with("1 "))
}

/// A message neither RFC reads: kept whole, its PRI (if any) giving the level.
fn raw_record(text: &str, origin: Origin) -> Record {
    let (level, message) = match text.strip_prefix('<').and_then(|rest| rest.split_once('>')) {
        Some((pri, rest)) if !pri.is_empty() && pri.len() <= 3 && pri.bytes().all(|b| b.is_ascii_digit()) => {
            (crate::ingest::syslog::level_of(pri), rest)
        }
        _ => (None, text),
    };
    let mut record = Record::new(DEFAULT_SOURCE, message.to_string(), origin);
    record.level = level;
    record
}

/// Gathers one receiver's records and hands them to the writer (or the cluster's ingest log)
/// in batches.
struct Batcher {
    destination: SyslogSink,
    metrics: Arc<Metrics>,
    records: Vec<Record>,
    rejections: Rejections,
    /// When the oldest record waiting arrived.
    since: Option<Instant>,
    /// Messages read so far (each one's `line` in its origin).
    received: u64,
}

impl Batcher {
    fn new(destination: SyslogSink, metrics: Arc<Metrics>) -> Self {
        Self { destination, metrics, records: Vec::new(), rejections: Rejections::default(), since: None, received: 0 }
    }

    fn take(&mut self, name: &str, frame: &[u8], problem: Option<&str>) {
        // A blank frame (a keep-alive newline, a datagram of padding) is no message.
        if problem.is_none() && frame.iter().all(|byte| byte.is_ascii_whitespace() || *byte == 0) {
            return;
        }
        self.received += 1;
        let read = match problem {
            Some(problem) => Err(format!("{problem}: more than {DEFAULT_MAX_LINE_BYTES} bytes")),
            None => record_of(frame, Origin { file: name.to_string(), line: self.received }),
        };
        match read {
            Ok(record) => {
                self.since.get_or_insert_with(Instant::now);
                self.records.push(record);
                if self.records.len() >= BATCH_RECORDS {
                    self.flush();
                }
            }
            Err(reason) => {
                tracing::debug!(sender = name, %reason, "syslog message refused");
                self.rejections.add(name, self.received, &reason);
            }
        }
    }

    fn flush_if_due(&mut self) {
        if self.since.is_some_and(|since| since.elapsed() >= FLUSH_INTERVAL) || self.rejections.total() > 0 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let rejections = std::mem::take(&mut self.rejections);
        if let Some((reason, group)) = rejections.by_reason.iter().next() {
            // Syslog has no answer to say it in: the log and the `rejected` metric do.
            let example = group.examples.first().map_or("", String::as_str);
            tracing::warn!(refused = rejections.total(), %reason, %example, "syslog messages not stored");
        }
        count_rejections(&self.metrics, &rejections);
        self.since = None;
        if self.records.is_empty() {
            return;
        }
        let records = std::mem::take(&mut self.records);
        let count = records.len();
        let stored = match &self.destination {
            SyslogSink::Writer(ingestor) => ingestor
                .submit_waiting(Work::Logs { records, checkpoint: None, commit: CommitMode::Auto }, count)
                .map(|_| ())
                .map_err(|error| error.to_string()),
            SyslogSink::Cluster(log) => log.append(records, None).map(|_| ()).map_err(|error| error.to_string()),
        };
        match stored {
            Ok(()) => {
                self.metrics.records_in.inc_by(count as u64);
            }
            Err(error) => tracing::error!(%error, records = count, "syslog records not stored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: &[&[u8]]) -> Vec<Result<String, String>> {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        let mut emit = |frame: &[u8], problem: Option<&str>| {
            out.push(match problem {
                Some(problem) => Err(problem.to_string()),
                None => Ok(String::from_utf8_lossy(frame).into_owned()),
            })
        };
        for chunk in chunks {
            framer.feed(chunk, &mut emit);
        }
        framer.finish(&mut emit);
        out
    }

    #[test]
    fn octet_counted_and_newline_framed_messages_are_split_across_reads() {
        let got = frames(&[b"12 <13>1 - a b", b"c13 <14>hello\nwor", b"ld\n<15>last"]);
        let expected: Vec<Result<String, String>> =
            ["<13>1 - a bc", "<14>hello\nwor", "ld", "<15>last"].iter().map(|s| Ok(s.to_string())).collect();
        // `13 <14>hello\nwor` is counted: the newline inside is the message's.
        assert_eq!(got, expected);
    }

    #[test]
    fn an_oversized_frame_is_refused_and_the_next_one_read() {
        let long = vec![b'x'; DEFAULT_MAX_LINE_BYTES + 10];
        let counted = format!("{} ", long.len());
        let got = frames(&[counted.as_bytes(), &long, b"5 <13>a", b"\n", &long, b"\n<13>after\n"]);
        assert_eq!(got, vec![Err(TOO_LONG.into()), Ok("<13>a".into()), Err(TOO_LONG.into()), Ok("<13>after".into())]);
    }

    #[test]
    fn datagrams_the_kernel_drops_with_the_buffer_full_are_counted() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket2::SockRef::from(&socket).set_recv_buffer_size(4096).unwrap();
        let mut drops = KernelDrops::of(&socket).expect("Linux tells the drops of a socket");
        assert_eq!(drops.new_drops(), Some(0));
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let datagram = [b'x'; 1024];
        for _ in 0..200 {
            sender.send_to(&datagram, socket.local_addr().unwrap()).unwrap();
        }
        // Nothing was read: most of the 200 did not fit in 4 KiB (the kernel doubles it).
        let dropped = drops.new_drops().unwrap();
        assert!(dropped > 100, "{dropped}");
        assert_eq!(drops.new_drops(), Some(0), "counted once");
    }

    #[test]
    fn messages_become_records_with_app_as_source_and_unreadable_ones_kept_raw() {
        let origin = || Origin { file: "syslog:tcp:x".into(), line: 1 };
        let record = record_of(b"<11>1 2026-12-06T01:00:00Z web-1 checkout 42 - - payment failed", origin()).unwrap();
        assert_eq!((record.source.as_str(), record.level.as_deref()), ("checkout", Some("ERROR")));
        assert_eq!(record.fields["facility"], "user");
        assert_eq!((record.message.as_str(), record.timestamp_ms), ("payment failed", Some(1_796_518_800_000)));
        let record = record_of(b"<30>Dec  6 01:00:00 web-1 cron[77]: job done", origin()).unwrap();
        assert_eq!(
            (record.source.as_str(), record.level.as_deref(), record.message.as_str()),
            ("cron", Some("INFO"), "job done")
        );
        let record = record_of(b"<11>2026-12-06T02:36:10.123456+00:00 web-1 shop[9]: order failed", origin()).unwrap();
        assert_eq!((record.source.as_str(), record.level.as_deref()), ("shop", Some("ERROR")));
        assert_eq!((record.message.as_str(), record.timestamp_ms), ("order failed", Some(1_796_524_570_123)));
        let record = record_of(b"<11>2026-12-06T02:52:59.589754+00:00 vm shop order 7 failed", origin()).unwrap();
        assert_eq!((record.source.as_str(), record.message.as_str()), ("shop", "order 7 failed"));
        let record = record_of(b"<14>Dec  6 02:36:10 vm worker job done", origin()).unwrap();
        assert_eq!((record.source.as_str(), record.message.as_str()), ("worker", "job done"));
        let record = record_of(b"<12>something odd happened", origin()).unwrap();
        assert_eq!((record.source.as_str(), record.level.as_deref()), ("syslog", Some("WARN")));
        assert_eq!(record.message, "something odd happened");
        let refused = record_of(b"<11>1 9999-12-31T00:00:00Z h app - - - far", origin()).unwrap_err();
        assert!(refused.starts_with("timestamp out of range"), "{refused}");
        assert_eq!(SyslogSpec::parse("udp://127.0.0.1:5514").unwrap().transport, Transport::Udp);
        assert!(SyslogSpec::parse("http://127.0.0.1:5514").unwrap_err().contains("not tcp, udp or tls"));
        assert!(SyslogSpec::parse("tcp://127.0.0.1").unwrap_err().contains("not <host>:<port>"));
    }
}

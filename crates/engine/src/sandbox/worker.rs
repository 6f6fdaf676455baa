//! Untrusted work in a cage: decoding uploads and running analysts' SQL in
//! child processes of the same binary (`vergleichsring worker`), started
//! with an empty environment, which set kernel limits on themselves
//! (address space, CPU seconds, open files, processes) and a seccomp
//! filter (`src/sandbox.rs`: no programs, processes, sockets or signals to
//! others, no new privileges) before they read anything. A worker that runs out of time is killed; one that
//! crashes, aborts or runs out of memory ends its pipe. Either way the
//! request gets a 4xx with a reason, and the server goes on.
//!
//! Workers are kept in a small pool and reused, so that a request does not
//! pay a process start; a worker is retired after `jobs_per_worker` jobs,
//! which also keeps its CPU seconds within its limit.
//!
//! The protocol on the worker's stdin and stdout is one frame per request
//! and per answer: a JSON header (`u32` length, big-endian) and a payload
//! (`u64` length): the upload's bytes, or Arrow IPC streams (the
//! `comparisons` table, a decoded batch, a query's answer).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout};
use vergleichsring_ingest::{Decoded, Format, IngestError, Limits, RowError};

use crate::error::{EngineError, Result};
use crate::sandbox::query;

/// The largest answer header the server reads from a worker (the cell
/// errors of an upload, a message).
const MAX_HEADER_BYTES: usize = 64 * 1024 * 1024;
/// The largest answer payload the server reads from a worker: a decoded
/// upload or a query's answer, both bounded by the limits long before.
/// A worker that sends more is treated as broken, so that not even a
/// subverted decoder can make the server allocate without bound.
const MAX_PAYLOAD_BYTES: u64 = 1024 * 1024 * 1024;

/// How the server starts and limits its workers.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The program: this binary (`std::env::current_exe`).
    pub program: PathBuf,
    /// Workers at most, busy or idle.
    pub size: usize,
    /// Address space of one worker, in MiB (`RLIMIT_AS`).
    pub memory_mib: u64,
    /// Jobs one worker does before it is replaced.
    pub jobs_per_worker: u32,
    /// The longest a job may take, in seconds (the larger of the upload
    /// and the query time limit): a worker's CPU seconds are this for each
    /// of its jobs, whichever kind it does.
    pub job_seconds: u64,
}

/// A request to a worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Request {
    /// Decode the payload (an upload) in `format` within `limits`.
    Decode { format: Format, limits: Limits },
    /// Run `sql` over the payload (the `comparisons` table as Arrow IPC).
    Query { sql: String },
}

/// A worker's answer; the payload is Arrow IPC when `ok`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Answer {
    ok: bool,
    /// Decoding: cells that are not numbers (ok), or why the file is
    /// refused (not ok).
    #[serde(default)]
    errors: Vec<RowError>,
    /// Not ok, not a refused file: `bad_request`, `resources_exhausted`,
    /// `unsupported_format` or `internal`.
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: String,
}

fn write_frame(out: &mut impl Write, header: &[u8], payload: &[u8]) -> std::io::Result<()> {
    let header_len = u32::try_from(header.len()).map_err(std::io::Error::other)?;
    out.write_all(&header_len.to_be_bytes())?;
    out.write_all(header)?;
    out.write_all(&(payload.len() as u64).to_be_bytes())?;
    out.write_all(payload)?;
    out.flush()
}

/// Reads a frame; `None` at the end of the input.
fn read_frame(input: &mut impl Read) -> std::io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut header = vec![0; u32::from_be_bytes(len) as usize];
    input.read_exact(&mut header)?;
    let mut len = [0u8; 8];
    input.read_exact(&mut len)?;
    let size = usize::try_from(u64::from_be_bytes(len)).map_err(std::io::Error::other)?;
    let mut payload = Vec::new();
    input.take(size as u64).read_to_end(&mut payload)?;
    if payload.len() != size {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some((header, payload)))
}

fn ipc(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut out, schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    drop(w);
    Ok(out)
}

fn from_ipc(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

/// The worker's side: answers requests from `input` on `output` until the
/// input ends. Run by `vergleichsring worker` after it limited itself.
pub fn serve(mut input: impl Read, mut output: impl Write) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    while let Some((header, payload)) = read_frame(&mut input)? {
        let (answer, body) = match serde_json::from_slice::<Request>(&header) {
            Ok(Request::Decode { format, limits }) => decode_here(format, payload, &limits),
            Ok(Request::Query { sql }) => runtime.block_on(query_here(&sql, &payload)),
            Err(e) => (
                failure("internal", format!("a request the worker cannot read: {e}")),
                Vec::new(),
            ),
        };
        let header = serde_json::to_vec(&answer).map_err(std::io::Error::other)?;
        write_frame(&mut output, &header, &body)?;
    }
    Ok(())
}

fn failure(error: &str, message: String) -> Answer {
    Answer {
        ok: false,
        error: Some(error.to_string()),
        message,
        ..Answer::default()
    }
}

fn decode_here(format: Format, payload: Vec<u8>, limits: &Limits) -> (Answer, Vec<u8>) {
    match vergleichsring_ingest::decode(format, Bytes::from(payload), limits) {
        Ok(decoded) => match ipc(
            &decoded.batch.schema(),
            std::slice::from_ref(&decoded.batch),
        ) {
            Ok(body) => (
                Answer {
                    ok: true,
                    errors: decoded.cell_errors,
                    ..Answer::default()
                },
                body,
            ),
            Err(e) => (failure("internal", e.to_string()), Vec::new()),
        },
        Err(IngestError::Rejected(errors)) => (
            Answer {
                errors,
                ..Answer::default()
            },
            Vec::new(),
        ),
        Err(e @ IngestError::UnsupportedFormat(_)) => {
            (failure("unsupported_format", e.to_string()), Vec::new())
        }
    }
}

async fn query_here(sql: &str, table: &[u8]) -> (Answer, Vec<u8>) {
    let run = async {
        // A refused query needs no table.
        query::check_single_query(sql)?;
        let (_, batches) = from_ipc(table)?;
        let table = batches
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::Internal("no comparisons table".into()))?;
        let (schema, batches) = query::execute(sql, table).await?;
        ipc(&schema, &batches)
    };
    match run.await {
        Ok(body) => (
            Answer {
                ok: true,
                ..Answer::default()
            },
            body,
        ),
        Err(e) if e.is_resources_exhausted() => {
            (failure("resources_exhausted", e.to_string()), Vec::new())
        }
        Err(EngineError::BadRequest(m)) => (failure("bad_request", m), Vec::new()),
        Err(e) => (failure("internal", e.to_string()), Vec::new()),
    }
}

/// One running worker and its pipes.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    jobs: u32,
}

/// Why a worker gave no answer.
enum Lost {
    /// It ran longer than the time limit and was killed.
    Timeout,
    /// Its pipe ended or failed: it crashed, aborted or ran out of memory.
    Crashed(String),
}

/// Writes one request frame to a worker and reads its answer frame,
/// refusing an answer larger than the protocol allows.
async fn exchange(
    worker: &mut Worker,
    header: &[u8],
    payload: &[u8],
) -> std::io::Result<(Answer, Vec<u8>)> {
    let mut frame = Vec::with_capacity(header.len() + payload.len() + 12);
    write_frame(&mut frame, header, payload)?;
    worker.stdin.write_all(&frame).await?;
    worker.stdin.flush().await?;
    let too_large = || std::io::Error::other("the worker's answer is larger than allowed");
    let mut len = [0u8; 4];
    worker.stdout.read_exact(&mut len).await?;
    let header_len = u32::from_be_bytes(len) as usize;
    if header_len > MAX_HEADER_BYTES {
        return Err(too_large());
    }
    let mut head = vec![0; header_len];
    worker.stdout.read_exact(&mut head).await?;
    let mut len = [0u8; 8];
    worker.stdout.read_exact(&mut len).await?;
    let size = u64::from_be_bytes(len);
    if size > MAX_PAYLOAD_BYTES {
        return Err(too_large());
    }
    let mut body = Vec::new();
    (&mut worker.stdout)
        .take(size)
        .read_to_end(&mut body)
        .await?;
    if body.len() as u64 != size {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let answer: Answer = serde_json::from_slice(&head).map_err(std::io::Error::other)?;
    Ok((answer, body))
}

/// The server's side: a few workers, started on demand and reused.
pub struct Pool {
    config: WorkerConfig,
    idle: Mutex<Vec<Worker>>,
    slots: tokio::sync::Semaphore,
}

impl Pool {
    /// A pool that starts workers when they are first needed.
    pub fn new(config: WorkerConfig) -> Pool {
        Pool {
            slots: tokio::sync::Semaphore::new(config.size.max(1)),
            config,
            idle: Mutex::default(),
        }
    }

    fn spawn(&self, time_limit: Duration) -> std::io::Result<Worker> {
        // CPU seconds for every job the worker may do, at the longest time
        // limit of any job.
        let cpu = time_limit
            .as_secs()
            .max(self.config.job_seconds)
            .max(1)
            .saturating_mul(u64::from(self.config.jobs_per_worker) + 1);
        // A worker gets no environment: the server's holds the secrets key,
        // S3 credentials and mail passwords, which a subverted decoder
        // could read from its own environment. Nothing in the worker
        // reads a variable (its log level is fixed, it starts no program).
        let mut child = tokio::process::Command::new(&self.config.program)
            .env_clear()
            .arg("worker")
            .arg("--memory-mib")
            .arg(self.config.memory_mib.to_string())
            .arg("--cpu-seconds")
            .arg(cpu.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("the worker has no pipes"));
        };
        Ok(Worker {
            child,
            stdin,
            stdout,
            jobs: 0,
        })
    }

    /// Sends one request to a worker and reads its answer, within
    /// `time_limit`; a worker that does not answer in time is killed.
    async fn run(
        &self,
        request: &Request,
        payload: &[u8],
        time_limit: Duration,
    ) -> std::result::Result<(Answer, Vec<u8>), Lost> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| Lost::Crashed(e.to_string()))?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut worker = match idle {
            Some(w) => w,
            None => self
                .spawn(time_limit)
                .map_err(|e| Lost::Crashed(format!("the worker could not be started: {e}")))?,
        };
        let header = serde_json::to_vec(request).map_err(|e| Lost::Crashed(e.to_string()))?;
        let outcome =
            tokio::time::timeout(time_limit, exchange(&mut worker, &header, payload)).await;
        match outcome {
            Ok(Ok(answer)) => {
                worker.jobs += 1;
                if worker.jobs < self.config.jobs_per_worker {
                    self.idle
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(worker);
                }
                Ok(answer)
            }
            Ok(Err(e)) => {
                let status = kill(worker).await;
                tracing::warn!(error = %e, %status, "a worker stopped during a job");
                Err(Lost::Crashed(status))
            }
            Err(_) => {
                kill(worker).await;
                tracing::warn!(
                    seconds = time_limit.as_secs(),
                    "a worker ran out of time and was killed"
                );
                Err(Lost::Timeout)
            }
        }
    }

    /// Decodes an upload in a worker. A worker that runs out of time,
    /// crashes or runs out of memory refuses the file (422).
    pub async fn decode(
        &self,
        format: Format,
        body: &[u8],
        limits: &Limits,
        time_limit: Duration,
    ) -> std::result::Result<Decoded, IngestError> {
        let request = Request::Decode {
            format,
            limits: *limits,
        };
        let refuse = |rule: &str, message: String| {
            IngestError::Rejected(vec![RowError::file(rule, message)])
        };
        match self.run(&request, body, time_limit).await {
            Ok((answer, payload)) if answer.ok => {
                let (_, batches) =
                    from_ipc(&payload).map_err(|e| refuse("unreadable_file", e.to_string()))?;
                let batch = batches.into_iter().next().ok_or_else(|| {
                    refuse("unreadable_file", "the decoder returned no rows".into())
                })?;
                Ok(Decoded {
                    batch,
                    cell_errors: answer.errors,
                })
            }
            Ok((answer, _)) if answer.error.as_deref() == Some("unsupported_format") => {
                Err(IngestError::UnsupportedFormat(answer.message))
            }
            Ok((answer, _)) if !answer.errors.is_empty() => {
                Err(IngestError::Rejected(answer.errors))
            }
            Ok((answer, _)) => Err(refuse("unreadable_file", answer.message)),
            Err(Lost::Timeout) => Err(refuse(
                "too_slow",
                format!(
                    "checking the upload took longer than {} s; split it into smaller files",
                    time_limit.as_secs()
                ),
            )),
            Err(Lost::Crashed(status)) => Err(refuse(
                "unreadable_file",
                format!(
                    "the file could not be decoded: the decoder stopped ({status}), for example because the file needs more than the {} MiB a decoder may use; it is damaged or written in a way the decoder cannot handle",
                    self.config.memory_mib
                ),
            )),
        }
    }

    /// Runs an analyst's query over `comparisons` in a worker.
    pub async fn query(
        &self,
        sql: &str,
        comparisons: &RecordBatch,
        time_limit: Duration,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let table = ipc(&comparisons.schema(), std::slice::from_ref(comparisons))?;
        let request = Request::Query {
            sql: sql.to_string(),
        };
        match self.run(&request, &table, time_limit).await {
            Ok((answer, payload)) if answer.ok => from_ipc(&payload),
            Ok((answer, _)) => Err(match answer.error.as_deref() {
                Some("bad_request") => EngineError::BadRequest(answer.message),
                Some("resources_exhausted") => EngineError::DataFusion(
                    datafusion::error::DataFusionError::ResourcesExhausted(answer.message),
                ),
                _ => EngineError::Internal(answer.message),
            }),
            Err(Lost::Timeout) => Err(query::too_slow()),
            Err(Lost::Crashed(status)) => Err(EngineError::BadRequest(format!(
                "the query stopped ({status}), for example because it needed more than the {} MiB a query may use; make it smaller",
                self.config.memory_mib
            ))),
        }
    }
}

/// Kills a worker and says how it ended.
async fn kill(mut worker: Worker) -> String {
    let _ = worker.child.start_kill();
    match worker.child.wait().await {
        Ok(status) => status.to_string(),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn frames_round_trip_and_a_cut_frame_is_an_error() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"{\"ok\":true}", b"payload").unwrap();
        write_frame(&mut buf, b"{}", b"").unwrap();
        let mut input = std::io::Cursor::new(buf.clone());
        assert_eq!(
            read_frame(&mut input).unwrap(),
            Some((b"{\"ok\":true}".to_vec(), b"payload".to_vec()))
        );
        assert_eq!(
            read_frame(&mut input).unwrap(),
            Some((b"{}".to_vec(), vec![]))
        );
        assert_eq!(read_frame(&mut input).unwrap(), None);
        // A frame cut within its payload (a worker that died mid-answer).
        let first = 4 + 11 + 8 + 7;
        let cut = &buf[..first - 3];
        assert!(read_frame(&mut std::io::Cursor::new(cut)).is_err());
    }

    /// The worker's loop in this process: a decode and a query come back as
    /// they would from a worker.
    #[test]
    fn the_worker_loop_answers_decodes_and_queries() {
        let mut input = Vec::new();
        let decode = serde_json::to_vec(&Request::Decode {
            format: Format::Csv,
            limits: Limits::default(),
        })
        .unwrap();
        write_frame(&mut input, &decode, b"member_id,loans\n05315000,12\n").unwrap();
        let table = RecordBatch::try_from_iter([(
            "n",
            std::sync::Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3]))
                as arrow::array::ArrayRef,
        )])
        .unwrap();
        let query = serde_json::to_vec(&Request::Query {
            sql: "SELECT sum(n) AS s FROM comparisons".into(),
        })
        .unwrap();
        write_frame(&mut input, &query, &ipc(&table.schema(), &[table]).unwrap()).unwrap();
        let bad = serde_json::to_vec(&Request::Query {
            sql: "SELECT repeat('x', 3)".into(),
        })
        .unwrap();
        write_frame(&mut input, &bad, b"").unwrap();
        let mut output = Vec::new();
        serve(std::io::Cursor::new(input), &mut output).unwrap();
        let mut out = std::io::Cursor::new(output);
        let (head, body) = read_frame(&mut out).unwrap().unwrap();
        let answer: Answer = serde_json::from_slice(&head).unwrap();
        assert!(answer.ok);
        let (_, batches) = from_ipc(&body).unwrap();
        assert_eq!(batches[0].num_rows(), 1);
        let (head, body) = read_frame(&mut out).unwrap().unwrap();
        assert!(serde_json::from_slice::<Answer>(&head).unwrap().ok);
        let (_, batches) = from_ipc(&body).unwrap();
        let sum = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(sum, 6);
        let (head, _) = read_frame(&mut out).unwrap().unwrap();
        let answer: Answer = serde_json::from_slice(&head).unwrap();
        assert_eq!(answer.error.as_deref(), Some("bad_request"));
        assert!(answer.message.contains("repeat"));
    }

    /// A worker that answers with an absurd header length (a subverted
    /// decoder) is treated as broken: the upload is refused and the server
    /// allocates nothing for it.
    #[tokio::test]
    async fn a_worker_announcing_a_huge_answer_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("fake-worker");
        std::fs::write(
            &program,
            "#!/bin/sh\nhead -c 1 >/dev/null\nprintf '\\377\\377\\377\\377'\nexec sleep 5\n",
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pool = Pool::new(WorkerConfig {
            program,
            size: 1,
            memory_mib: 1024,
            jobs_per_worker: 10,
            job_seconds: 10,
        });
        let started = std::time::Instant::now();
        let refused = pool
            .decode(
                Format::Csv,
                b"member_id\n1\n",
                &Limits::default(),
                Duration::from_secs(10),
            )
            .await;
        match refused {
            Err(IngestError::Rejected(e)) => {
                assert_eq!(e[0].rule, "unreadable_file");
                assert!(e[0].message.contains("decoder stopped"), "{e:?}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}

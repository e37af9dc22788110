//! Converting the files: the engine on `--threads` scoped threads, one report line per input, as each ends.

use std::{
    any::Any,
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::Instant,
};

use imagepipe_engine::{self as engine, EngineError, Limits};
use imagepipe_proto::FailureCode;

use super::{ConvertArgs, args::ConvertJob};

/// What became of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Every output written, in `millis` (read, transform and write).
    Converted {
        /// The input file.
        input: PathBuf,
        /// The files written, in the variants' order.
        outputs: Vec<Written>,
        /// Wall time in milliseconds.
        millis: u128,
    },
    /// Not converted: the engine's error code (`io` for a file that could not be read or written, `internal`
    /// when the engine panicked on it).
    Failed {
        /// The input file.
        input: PathBuf,
        /// `decode_failed`, `too_large`, …, `io` or `internal`.
        code: String,
        /// Why.
        message: String,
    },
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Where.
    pub path: PathBuf,
    /// Result width.
    pub width: u32,
    /// Result height.
    pub height: u32,
    /// Result size in bytes.
    pub bytes: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Report::Converted {
                input,
                outputs,
                millis,
            } => {
                write!(f, "ok {} ->", input.display())?;
                for (index, written) in outputs.iter().enumerate() {
                    let separator = if index == 0 { "" } else { "," };
                    write!(
                        f,
                        "{separator} {} {}x{} {} bytes",
                        written.path.display(),
                        written.width,
                        written.height,
                        written.bytes
                    )?;
                }
                write!(f, " {millis} ms")
            }
            Report::Failed {
                input,
                code,
                message,
            } => write!(f, "error {}: {code}: {message}", input.display()),
        }
    }
}

/// Converts every file of `args`, prints a line per input on stdout, and says whether all succeeded (exit 2
/// for options that make no sense, before any file is read).
#[must_use]
pub fn run(args: &ConvertArgs) -> ExitCode {
    let job = match args.job() {
        Ok(job) => job,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = std::fs::create_dir_all(&args.out_dir) {
        eprintln!("error: cannot create {}: {error}", args.out_dir.display());
        return ExitCode::FAILURE;
    }
    let limits = args.limits();
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel();
    let threads = usize::from(args.threads).min(args.files.len()).max(1);
    let mut failures = 0usize;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, job, files) = (&next, &job, &args.files);
            scope.spawn(move || {
                while let Some(input) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let report = convert_file(input, &args.out_dir, job, &limits);
                    if sender.send(report).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for report in receiver {
            if matches!(report, Report::Failed { .. }) {
                failures += 1;
            }
            println!("{report}");
        }
    });
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Reads `input`, transforms it as `job` asks and writes `<stem>.<format>` (or `<stem>.<variant>.<format>` per
/// variant) into `out_dir`.
#[must_use]
pub fn convert_file(input: &Path, out_dir: &Path, job: &ConvertJob, limits: &Limits) -> Report {
    let started = Instant::now();
    let failed = |code: &str, message: String| Report::Failed {
        input: input.to_owned(),
        code: code.to_owned(),
        message,
    };
    let original = match std::fs::read(input) {
        Ok(bytes) => bytes,
        Err(error) => return failed("io", format!("cannot read the file: {error}")),
    };
    let outputs = match guarded(|| {
        if job.variants.is_empty() {
            engine::transform(&original, &job.spec, limits)
        } else {
            engine::transform_variants(&original, &job.variants, limits)
        }
        .map(|transformed| transformed.outputs)
    }) {
        Ok(outputs) => outputs,
        Err((code, message)) => return failed(code, message),
    };
    let stem = input.file_stem().unwrap_or(input.as_os_str());
    let mut written = Vec::with_capacity(outputs.len());
    for output in outputs {
        let info = output.info.unwrap_or_default();
        let mut name = stem.to_owned();
        if !job.variants.is_empty() {
            name.push(".");
            name.push(&output.name);
        }
        name.push(".");
        name.push(info.format().name());
        let path = out_dir.join(name);
        if let Err(error) = std::fs::write(&path, &output.data) {
            return failed("io", format!("cannot write {}: {error}", path.display()));
        }
        written.push(Written {
            path,
            width: info.width,
            height: info.height,
            bytes: info.bytes,
        });
    }
    Report::Converted {
        input: input.to_owned(),
        outputs: written,
        millis: started.elapsed().as_millis(),
    }
}

/// Runs the engine's `work` on one file, turning its error into a code and a message, and a panic (a bug)
/// into an `internal` failure of that file alone: the other files are still converted.
fn guarded<T>(work: impl FnOnce() -> Result<T, EngineError>) -> Result<T, (&'static str, String)> {
    match std::panic::catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => Err((error.code().as_str(), error.to_string())),
        Err(panic) => Err((
            FailureCode::Internal.as_str(),
            format!(
                "internal error while transforming the image (the engine panicked: {})",
                panic_message(panic.as_ref())
            ),
        )),
    }
}

/// The message of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::Output;

    use super::*;

    #[test]
    fn a_panicking_engine_fails_only_its_file_as_internal() {
        let (code, message) = guarded::<Output>(|| panic!("boom at row {}", 7)).unwrap_err();
        assert_eq!(code, "internal");
        assert!(message.contains("boom at row 7"), "{message}");
        let (code, message) =
            guarded::<Output>(|| Err(EngineError::TooLarge("too many pixels".into()))).unwrap_err();
        assert_eq!(code, "too_large");
        assert_eq!(message, "the image is too large: too many pixels");
        assert!(guarded(|| Ok(Output::default())).is_ok());
    }
}

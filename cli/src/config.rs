//! The command line: `imagepipe [--server URL] <upload|status|get|delete|list|bench> …`.

use std::{path::PathBuf, time::Duration};

use clap::builder::PossibleValuesParser;

/// The gateway the client talks to unless told otherwise (the local stack's).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Everything the client can be asked to do.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "imagepipe",
    version,
    about = "imagepipe's command-line client: upload images, wait for the results, download every output."
)]
pub struct Cli {
    /// The gateway's base URL.
    #[arg(long, global = true, env = "IMAGEPIPE_URL", default_value = DEFAULT_SERVER)]
    pub server: String,
    /// The API key, sent as `Authorization: Bearer <key>` on every request (a gateway with API keys requires
    /// it; an open one ignores it).
    #[arg(long, global = true, env = "IMAGEPIPE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Upload images (files, or every image file in a directory), wait for each result and download every
    /// output as `<stem>.<output>.<format>`; prints a summary and exits with 1 if any image failed.
    Upload(UploadArgs),
    /// Print a job's status, outputs or reason, and its timeline (when each step happened, on which replica).
    Status {
        /// The job id.
        id: String,
        /// Print the gateway's status document (JSON) instead.
        #[arg(long)]
        json: bool,
    },
    /// Download a job's result (or one named output) to a file.
    Get {
        /// The job id.
        id: String,
        /// The output to download (a variant's name, or `default`); default: the job's main result.
        #[arg(long)]
        variant: Option<String>,
        /// Where to write it (`-` for standard output).
        #[arg(short, long)]
        output: PathBuf,
        /// Seconds to wait for a job that is not finished yet.
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
    /// Delete a stored job: its original, every output and its document.
    Delete {
        /// The job id.
        id: String,
    },
    /// Load a gateway with jobs for a while and report its throughput and latencies: results and stored jobs
    /// per second, percentiles of the time to each, errors by code (`--json` for the report as JSON).
    Bench(BenchArgs),
    /// List stored jobs, newest first.
    List {
        /// Only jobs of this status.
        #[arg(long, value_parser = PossibleValuesParser::new(["done", "failed"]))]
        status: Option<String>,
        /// Most jobs to list.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        /// Continue after a previous listing (the cursor it printed).
        #[arg(long)]
        cursor: Option<String>,
    },
}

/// `imagepipe upload`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct UploadArgs {
    /// Image files, or directories whose image files (by extension, recursively) are uploaded.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// What to make of each image.
    #[command(flatten)]
    pub job: JobArgs,
    /// Directory the outputs are written to (created if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Images in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Seconds to wait for each job's result.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

impl UploadArgs {
    /// How long to wait for each job.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }
}

/// A job's options, as `upload` and `bench` take them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct JobArgs {
    /// Target width in pixels.
    #[arg(long)]
    pub width: Option<u32>,
    /// Target height in pixels.
    #[arg(long)]
    pub height: Option<u32>,
    /// How the image fits the box.
    #[arg(long, value_parser = PossibleValuesParser::new(["contain", "cover", "fill", "inside"]))]
    pub fit: Option<String>,
    /// Output format; default: the input's.
    #[arg(long, value_parser = PossibleValuesParser::new(["jpeg", "jpg", "png", "webp"]))]
    pub format: Option<String>,
    /// JPEG/WebP quality.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: Option<u8>,
    /// Named outputs, as the API takes them (`thumb`, `square:120x120`, `wide:300w.webp`, comma-separated or
    /// repeated).
    #[arg(long, value_name = "VARIANTS")]
    pub variants: Vec<String>,
    /// Any other option the API takes (`gravity=north`, `watermark=© ACME`, …); repeatable.
    #[arg(short = 'O', long = "option", value_name = "NAME=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
}

impl JobArgs {
    /// The query string pairs the options become, in a fixed order.
    #[must_use]
    pub fn query(&self) -> Vec<(String, String)> {
        let mut query = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                query.push((name.to_owned(), value));
            }
        };
        push("width", self.width.map(|width| width.to_string()));
        push("height", self.height.map(|height| height.to_string()));
        push("fit", self.fit.clone());
        push("format", self.format.clone());
        push("quality", self.quality.map(|quality| quality.to_string()));
        let variants = self.variants.join(",");
        push("variants", (!variants.is_empty()).then_some(variants));
        query.extend(self.options.iter().cloned());
        query
    }
}

/// `imagepipe bench`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Image files, or directories of them: the jobs take them in turn.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// What to make of each image.
    #[command(flatten)]
    pub job: JobArgs,
    /// Closed loop: this many workers, each uploading an image and waiting for its result, then the next.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Open loop instead: start this many jobs a second, whatever the answers (to find the knee).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Seconds of load.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: u64,
    /// Seconds to wait after the load for its last jobs to be done and stored.
    #[arg(long, default_value_t = 120)]
    pub drain: u64,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Load a thumbor at `--server` instead, with the same images and loop, for a side-by-side: each job is
    /// `GET /unsafe/<THUMBOR_OPTIONS>/<file name>` (e.g. `fit-in/256x256`), its file loader rooted where the
    /// images are. The job options above do not apply; nothing is stored, so only results are reported.
    #[arg(long, value_name = "THUMBOR_OPTIONS")]
    pub thumbor: Option<String>,
    /// A process on this machine to account CPU time to, as `NAME=PID` (repeatable; pids sharing a name add
    /// up): the report gives each name's CPU milliseconds per job, the client's own too. Linux only.
    #[arg(long = "process", value_name = "NAME=PID", value_parser = parse_process)]
    pub processes: Vec<(String, u32)>,
}

fn parse_process(text: &str) -> Result<(String, u32), String> {
    match text.split_once('=') {
        Some((name, pid)) if !name.trim().is_empty() => pid
            .trim()
            .parse::<u32>()
            .map(|pid| (name.trim().to_owned(), pid))
            .map_err(|_| format!("`{pid}` is not a process id")),
        _ => Err(format!("`{text}` is not NAME=PID")),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a positive number of jobs per second"
        )),
    }
}

fn parse_option(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn upload(args: &[&str]) -> UploadArgs {
        let cli = Cli::try_parse_from(["imagepipe", "upload"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Upload(upload) => upload,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_become_the_query_in_order() {
        let args = upload(&[
            "a.png",
            "dir",
            "--width",
            "300",
            "--fit",
            "cover",
            "--format",
            "webp",
            "--quality",
            "80",
            "--variants",
            "thumb,square:64x64",
            "--variants",
            "wide:300w",
            "-O",
            "gravity=north",
            "--option",
            "watermark=a=b",
        ]);
        assert_eq!(args.paths, [PathBuf::from("a.png"), PathBuf::from("dir")]);
        let expected = [
            ("width", "300"),
            ("fit", "cover"),
            ("format", "webp"),
            ("quality", "80"),
            ("variants", "thumb,square:64x64,wide:300w"),
            ("gravity", "north"),
            ("watermark", "a=b"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()));
        assert_eq!(args.job.query(), expected);
        assert_eq!(args.concurrency, 4);
        assert_eq!(args.out, PathBuf::from("."));
        assert!(upload(&["a.png"]).job.query().is_empty());
        let cli = Cli::try_parse_from([
            "imagepipe",
            "bench",
            "dir",
            "--width",
            "256",
            "--rate",
            "20",
        ])
        .unwrap();
        let Command::Bench(bench) = cli.command else {
            panic!("not bench")
        };
        assert_eq!((bench.rate, bench.duration), (Some(20.0), 30));
        assert_eq!(bench.job.query(), [("width".to_owned(), "256".to_owned())]);
        let cli = Cli::try_parse_from([
            "imagepipe",
            "bench",
            "d",
            "--process",
            "gateway=12",
            "--process",
            "x=3",
        ])
        .unwrap();
        let Command::Bench(bench) = cli.command else {
            panic!("not bench")
        };
        assert_eq!(
            bench.processes,
            [("gateway".to_owned(), 12), ("x".to_owned(), 3)]
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        for args in [
            &["imagepipe", "upload"][..],
            &["imagepipe", "upload", "a.png", "--fit", "squash"],
            &["imagepipe", "upload", "a.png", "--quality", "0"],
            &["imagepipe", "upload", "a.png", "--concurrency", "0"],
            &["imagepipe", "upload", "a.png", "-O", "novalue"],
            &["imagepipe", "list", "--status", "queued"],
            &["imagepipe", "bench", "a.png", "--rate", "0"],
            &["imagepipe", "bench", "a.png", "--duration", "0"],
            &["imagepipe", "bench", "a.png", "--process", "gateway"],
            &["imagepipe", "bench", "a.png", "--process", "gateway=x"],
            &["imagepipe", "list", "--limit", "0"],
            &["imagepipe", "get", "id"],
            &["imagepipe", "frobnicate"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn the_server_comes_from_a_flag_anywhere_or_the_default() {
        let cli = Cli::try_parse_from(["imagepipe", "status", "x"]).unwrap();
        // IMAGEPIPE_URL may be set where the tests run; the flag always wins.
        if std::env::var_os("IMAGEPIPE_URL").is_none() {
            assert_eq!(cli.server, DEFAULT_SERVER);
        }
        let cli =
            Cli::try_parse_from(["imagepipe", "status", "x", "--server", "http://gw:1"]).unwrap();
        assert_eq!(cli.server, "http://gw:1");
        let cli =
            Cli::try_parse_from(["imagepipe", "--server", "http://gw:2", "delete", "x"]).unwrap();
        assert_eq!(cli.server, "http://gw:2");
        let cli = Cli::try_parse_from(["imagepipe", "list", "--api-key", "ipk_k"]).unwrap();
        assert_eq!(cli.api_key.as_deref(), Some("ipk_k"));
        let cli =
            Cli::try_parse_from(["imagepipe", "get", "x", "--variant", "thumb", "-o", "t.jpg"])
                .unwrap();
        match cli.command {
            Command::Get {
                variant, output, ..
            } => assert_eq!(
                (variant.as_deref(), output),
                (Some("thumb"), "t.jpg".into())
            ),
            other => panic!("{other:?}"),
        }
    }
}

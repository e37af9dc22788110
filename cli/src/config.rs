//! The command line: `imagepipe [--server URL] <upload|status|get|delete|list|bench> …`.

use std::{path::PathBuf, time::Duration};

use clap::builder::PossibleValuesParser;

use crate::bench::{
    Mode,
    schedule::{self, Rate},
};

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
    Bench(Box<BenchArgs>),
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
    /// Open loop instead: start this many jobs a second, whatever the answers (to find the knee). Or a schedule
    /// of phases, `RATE:SECONDS,RATE:SECONDS,…` (`40:120,10:60`: 40 jobs/s for two minutes, then 10/s for one):
    /// the load then lasts the schedule's total (it wins over `--duration`), and the report adds a row per phase
    /// and the overload verdict (jobs lost, broker alarms, queues near their bound, recovery of the p99).
    #[arg(long, value_name = "RATE|SCHEDULE", value_parser = Rate::parse)]
    pub rate: Option<Rate>,
    /// Open-loop steps instead: one load at each of these rates (jobs/s, comma-separated), each for
    /// `--duration` seconds and drained before the next, with a settle of a few seconds between; reports a row
    /// per step and plots p50 and p99 from accepted to done against the throughput achieved (`--plot`).
    #[arg(
        long,
        value_name = "RATES",
        value_delimiter = ',',
        value_parser = schedule::positive_rate,
        conflicts_with_all = ["rate", "thumbor"]
    )]
    pub steps: Vec<f64>,
    /// Where `--steps` writes its plot (SVG); default: beside `--json`, with the extension `.svg`.
    #[arg(long, value_name = "FILE", requires = "steps")]
    pub plot: Option<PathBuf>,
    /// Seconds of load (of each step, with `--steps`; a schedule's own total wins over it).
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
    /// The p99 from accepted to done that counts as normal, in milliseconds, for the overload verdict of a
    /// schedule: latency has recovered once the 10 s windows' p99 stays within 1.5 times it (or 250 ms over it, whichever is more), which must happen
    /// within 60 s of the last phase's start. Default: the lowest p99 of any 10 s window of the run with at
    /// least 5 jobs done (the least loaded moment's).
    #[arg(long, value_name = "MS", value_parser = parse_millis)]
    pub baseline_ms: Option<f64>,
    /// RabbitMQ's management API, as `http://USER:PASSWORD@HOST:15672`: sample the namespace's queues (depth,
    /// bytes, bounds) and the nodes (memory, disk, alarms) once a second during the load and the drain, and
    /// report them. A failing API is reported ("unavailable: why"), not fatal. Not given: no sampling.
    #[arg(
        long,
        env = "IMAGEPIPE_BROKER_API",
        value_name = "URL",
        hide_env_values = true
    )]
    pub broker_api: Option<String>,
    /// The RabbitMQ virtual host whose queues `--broker-api` reads.
    #[arg(long, env = "IMAGEPIPE_BROKER_VHOST", default_value = "/")]
    pub broker_vhost: String,
    /// The services' namespace: `--broker-api` reads the queues named `<NAMESPACE>.…`.
    #[arg(long, env = "AMQP_NAMESPACE", default_value = "imagepipe")]
    pub namespace: String,
}

impl BenchArgs {
    /// How the load comes: `--rate` (one rate or a schedule), else `--concurrency` workers. (`--steps` sets
    /// each step's own rate.)
    #[must_use]
    pub fn mode(&self) -> Mode {
        match &self.rate {
            Some(Rate::Constant(rate)) => Mode::Open { rate: *rate },
            Some(Rate::Schedule(phases)) => Mode::Schedule {
                phases: phases.clone(),
            },
            None => Mode::Closed {
                workers: self.concurrency,
            },
        }
    }

    /// How long the load lasts: a schedule's total, else `--duration`.
    #[must_use]
    pub fn load_duration(&self) -> Duration {
        match &self.rate {
            Some(Rate::Schedule(phases)) => schedule::total(phases),
            _ => Duration::from_secs(self.duration),
        }
    }
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

fn parse_millis(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(ms) if ms.is_finite() && ms > 0.0 => Ok(ms),
        _ => Err(format!("`{text}` is not a positive number of milliseconds")),
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
        assert_eq!(
            (bench.rate.clone(), bench.duration),
            (Some(Rate::Constant(20.0)), 30)
        );
        assert_eq!(bench.mode(), Mode::Open { rate: 20.0 });
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

    fn bench(args: &[&str]) -> BenchArgs {
        let cli = Cli::try_parse_from(["imagepipe", "bench"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Bench(bench) => *bench,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bench_takes_a_schedule_steps_and_the_broker() {
        let args = bench(&[
            "d",
            "--rate",
            "40:120,10:60",
            "--duration",
            "5",
            "--broker-api",
            "http://guest:guest@127.0.0.1:15672",
            "--broker-vhost",
            "pipes",
            "--namespace",
            "t-1",
            "--baseline-ms",
            "250",
        ]);
        let phases = vec![
            schedule::Phase {
                rate: 40.0,
                secs: 120,
            },
            schedule::Phase {
                rate: 10.0,
                secs: 60,
            },
        ];
        assert_eq!(args.mode(), Mode::Schedule { phases });
        assert_eq!(
            args.load_duration(),
            Duration::from_secs(180),
            "the schedule wins over --duration"
        );
        assert_eq!(
            (
                args.broker_api.as_deref(),
                args.broker_vhost.as_str(),
                args.namespace.as_str(),
                args.baseline_ms
            ),
            (
                Some("http://guest:guest@127.0.0.1:15672"),
                "pipes",
                "t-1",
                Some(250.0)
            )
        );
        let args = bench(&[
            "d",
            "--steps",
            "5,10",
            "--steps",
            "20.5",
            "--duration",
            "3",
            "--plot",
            "p.svg",
        ]);
        assert_eq!(args.steps, [5.0, 10.0, 20.5]);
        assert_eq!(args.load_duration(), Duration::from_secs(3));
        assert_eq!(args.plot, Some(PathBuf::from("p.svg")));
        assert_eq!(args.mode(), Mode::Closed { workers: 4 });
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
            &["imagepipe", "bench", "a.png", "--rate", "40:0"],
            &["imagepipe", "bench", "a.png", "--rate", "40:10,x"],
            &["imagepipe", "bench", "a.png", "--steps", "5", "--rate", "3"],
            &["imagepipe", "bench", "a.png", "--steps", "5,0"],
            &[
                "imagepipe",
                "bench",
                "a.png",
                "--steps",
                "5",
                "--thumbor",
                "fit-in/9x9",
            ],
            &["imagepipe", "bench", "a.png", "--plot", "p.svg"],
            &["imagepipe", "bench", "a.png", "--baseline-ms", "0"],
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

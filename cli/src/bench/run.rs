//! A bench command line, run: the images read once, the broker sampled meanwhile (`--broker-api`), then one
//! load (judged when it followed a schedule) or the steps of `--steps` one after the other (and their plot
//! written).

use std::{path::PathBuf, time::Duration};

use serde::Serialize;

use super::{
    Image, Mode, Report,
    broker::Sampling,
    broker_report::BrokerReport,
    cpu, load, plot,
    sweep::{SETTLE, Sweep},
};
use crate::{client::ApiClient, config::BenchArgs, error::CliError, files};

/// What a bench run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// One load.
    Load(Box<Report>),
    /// The steps of `--steps`.
    Sweep(Box<Sweep>),
}

impl Outcome {
    /// The figures as a plain-text table.
    #[must_use]
    pub fn render(&self) -> String {
        match self {
            Self::Load(report) => report.render(),
            Self::Sweep(sweep) => sweep.render(),
        }
    }
}

/// Runs the benchmark `args` describes against `client`'s gateway; with `--steps`, writes the plot.
///
/// # Errors
/// [`CliError::Read`] when an image cannot be read, or no image is given; [`CliError::Write`] when the plot
/// cannot be written. A broker that cannot be sampled is reported, not an error.
pub async fn run(client: &ApiClient, args: &BenchArgs) -> Result<Outcome, CliError> {
    let images = read_images(args).await?;
    let client = client.clone().without_retries();
    let target = match &args.thumbor {
        Some(options) => load::Target::Thumbor {
            options: options.trim_matches('/').to_owned(),
        },
        None => load::Target::Imagepipe,
    };
    let mut plan = load::Plan {
        target,
        images: images.into(),
        query: args.job.query().into(),
        mode: args.mode(),
        duration: args.load_duration(),
    };
    let drain = Duration::from_secs(args.drain);
    let processes = cpu::Processes::new(&args.processes);
    let sampling = args
        .broker_api
        .as_deref()
        .map(|api| Sampling::start(api, &args.broker_vhost, &args.namespace));
    if args.steps.is_empty() {
        let mut report = measure(&client, &plan, &processes, drain).await;
        report.broker = finish(sampling).await;
        if matches!(plan.mode, Mode::Schedule { .. }) && plan.target == load::Target::Imagepipe {
            report.judge(args.baseline_ms);
        }
        return Ok(Outcome::Load(Box::new(report)));
    }
    let mut steps = Vec::new();
    for (index, rate) in args.steps.iter().enumerate() {
        if index > 0 {
            tokio::time::sleep(SETTLE).await;
        }
        plan.mode = Mode::Open { rate: *rate };
        steps.push(measure(&client, &plan, &processes, drain).await);
    }
    let mut sweep = Sweep {
        target: target_name(&plan.target).to_owned(),
        step_secs: plan.duration.as_secs_f64(),
        settle_secs: SETTLE.as_secs_f64(),
        steps,
        broker: finish(sampling).await,
        plot: None,
    };
    if let Some(path) = plot_path(args) {
        let title = format!(
            "{}: accepted → done against throughput, {} s steps",
            sweep.target, args.duration
        );
        let written = plot::svg(&title, &sweep.points())
            .map_err(std::io::Error::other)
            .and_then(|svg| std::fs::write(&path, svg));
        written.map_err(|source| CliError::Write {
            path: path.clone(),
            source,
        })?;
        sweep.plot = Some(path.display().to_string());
    }
    Ok(Outcome::Sweep(Box::new(sweep)))
}

/// Where the plot of `--steps` goes: `--plot`, else beside `--json` with the extension `.svg`, else nowhere.
#[must_use]
pub fn plot_path(args: &BenchArgs) -> Option<PathBuf> {
    args.plot
        .clone()
        .or_else(|| args.json.as_ref().map(|json| json.with_extension("svg")))
}

/// One load of `plan`, its drain and its timelines, and what it cost the processes named.
async fn measure(
    client: &ApiClient,
    plan: &load::Plan,
    processes: &cpu::Processes,
    drain: Duration,
) -> Report {
    let before = processes.usage();
    let mut samples = load::drive(client, plan).await;
    if plan.target == load::Target::Imagepipe {
        load::read_timelines(client, &mut samples, drain).await;
    }
    // Up to the end of the drain, so that each job's whole work (stored last) is counted, over the jobs that
    // were answered; the timelines' reads are the client's, a small part of its time.
    let after = processes.usage();
    let mut report = Report::of(
        target_name(&plan.target),
        plan.mode.clone(),
        plan.duration,
        &samples,
    );
    let answered = samples
        .iter()
        .filter(|sample| sample.answered.is_some())
        .count();
    report.cpu_ms_per_job = cpu::per_job(&before, &after, answered);
    report
}

/// The broker's report, if it was sampled.
async fn finish(sampling: Option<Sampling>) -> Option<BrokerReport> {
    match sampling {
        Some(sampling) => Some(sampling.finish().await),
        None => None,
    }
}

fn target_name(target: &load::Target) -> &'static str {
    match target {
        load::Target::Imagepipe => "imagepipe",
        load::Target::Thumbor { .. } => "thumbor",
    }
}

/// The images of `args.paths`, each read once.
async fn read_images(args: &BenchArgs) -> Result<Vec<Image>, CliError> {
    let mut images = Vec::new();
    for input in files::collect(&args.paths)? {
        let bytes = tokio::fs::read(&input.path)
            .await
            .map_err(|source| CliError::Read {
                path: input.path.clone(),
                source,
            })?;
        let name = input
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        images.push(Image {
            bytes: bytes.into(),
            filename: input.label.clone(),
            name,
            content_type: files::content_type(&input.path),
        });
    }
    Ok(images)
}

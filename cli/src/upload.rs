//! `imagepipe upload`: send every file (a few at a time), wait for each job, write every output, and report.
//!
//! A progress bar on standard error counts the input bytes finished, with throughput and ETA; retries after a
//! `503` are noted above it. The summary table goes to standard output.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    client::{ApiClient, Submission},
    config::UploadArgs,
    error::CliError,
    files::{self, Input},
    table::{Table, human_bytes},
};

/// The progress bar's layout.
const PROGRESS_TEMPLATE: &str = "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} \
                                 ({binary_bytes_per_sec}, ETA {eta}) {msg}";

/// What became of one file.
#[derive(Debug)]
pub struct Report {
    /// The file, as shown to people.
    pub file: String,
    /// Its job, once accepted.
    pub job_id: Option<String>,
    /// The outputs written, or why there are none.
    pub outcome: Result<Vec<Saved>, CliError>,
}

/// One output written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The output's name.
    pub name: String,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
}

impl Report {
    /// Whether the file's job is done and its outputs written.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Uploads what `args` names and returns one report per file, in the order the files were found.
///
/// # Errors
/// [`CliError::Read`] when a path does not exist, [`CliError::Write`] when the output directory cannot be
/// created; what goes wrong with one file is in its report instead.
pub async fn run(client: &ApiClient, args: &UploadArgs) -> Result<Vec<Report>, CliError> {
    let inputs = files::collect(&args.paths)?;
    tokio::fs::create_dir_all(&args.out)
        .await
        .map_err(|source| CliError::Write {
            path: args.out.clone(),
            source,
        })?;
    let total_bytes = inputs.iter().map(|input| input.size).sum();
    let progress = ProgressBar::new(total_bytes).with_style(
        ProgressStyle::with_template(PROGRESS_TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let count = inputs.len();
    progress.set_message(format!("0/{count} images"));

    let query: Arc<[(String, String)]> = args.job.query().into();
    let permits = Arc::new(Semaphore::new(args.concurrency as usize));
    let mut tasks = JoinSet::new();
    for (index, input) in inputs.into_iter().enumerate() {
        let job = Job {
            client: client.clone(),
            query: Arc::clone(&query),
            out: args.out.clone(),
            timeout: args.timeout(),
            progress: progress.clone(),
        };
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let report = job.process(&input).await;
            job.progress.inc(input.size);
            (index, report)
        });
    }
    let mut reports: Vec<Option<Report>> = (0..count).map(|_| None).collect();
    let (mut done, mut failed) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        let Ok((index, report)) = joined else {
            continue;
        };
        done += 1;
        if !report.succeeded() {
            failed += 1;
        }
        let failures = if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        };
        progress.set_message(format!("{done}/{count} images{failures}"));
        reports[index] = Some(report);
    }
    progress.finish_and_clear();
    Ok(reports.into_iter().flatten().collect())
}

/// What one file's task needs.
struct Job {
    client: ApiClient,
    query: Arc<[(String, String)]>,
    out: PathBuf,
    timeout: Duration,
    progress: ProgressBar,
}

impl Job {
    async fn process(&self, input: &Input) -> Report {
        let notice = |reason: &str, delay: Duration| {
            self.progress.suspend(|| {
                eprintln!(
                    "{}: the gateway answered {reason}; retrying in {} s",
                    input.label,
                    delay.as_secs()
                );
            });
        };
        let mut report = Report {
            file: input.label.clone(),
            job_id: None,
            outcome: Ok(Vec::new()),
        };
        let bytes = match tokio::fs::read(&input.path).await {
            Ok(bytes) => Bytes::from(bytes),
            Err(source) => {
                report.outcome = Err(CliError::Read {
                    path: input.path.clone(),
                    source,
                });
                return report;
            }
        };
        let filename = input.path.file_name().map_or_else(
            || input.stem.clone(),
            |name| name.to_string_lossy().into_owned(),
        );
        let submission = Submission {
            bytes,
            filename: &filename,
            content_type: files::content_type(&input.path),
            query: &self.query,
        };
        let id = match self.client.submit(&submission, &notice).await {
            Ok(id) => id,
            Err(error) => {
                report.outcome = Err(error);
                return report;
            }
        };
        report.job_id = Some(id.clone());
        report.outcome = self.download(&id, &input.stem, &notice).await;
        report
    }

    /// Waits for job `id`, then writes each of its outputs as `<stem>.<output>.<format>`.
    async fn download(
        &self,
        id: &str,
        stem: &str,
        notice: &(dyn Fn(&str, Duration) + Send + Sync),
    ) -> Result<Vec<Saved>, CliError> {
        let main = self.client.fetch(id, None, self.timeout, notice).await?;
        let status = self.client.status(id).await?;
        // The output `GET /image/{id}` served: `default`, else the first.
        let main_name = status
            .outputs
            .iter()
            .find(|output| output.name == "default")
            .or_else(|| status.outputs.first())
            .map(|output| output.name.clone());
        let outputs: Vec<(String, String)> = if status.outputs.is_empty() {
            let format = status.result.map_or_else(|| "bin".into(), |r| r.format);
            vec![("default".into(), format)]
        } else {
            status
                .outputs
                .iter()
                .map(|output| (output.name.clone(), output.format.clone()))
                .collect()
        };
        let mut saved = Vec::with_capacity(outputs.len());
        for (name, format) in outputs {
            let data = if main_name.is_none() || main_name.as_deref() == Some(name.as_str()) {
                main.clone()
            } else {
                self.client
                    .fetch(id, Some(&name), self.timeout, notice)
                    .await?
            };
            let path = self.out.join(files::output_name(stem, &name, &format));
            write(&path, &data).await?;
            saved.push(Saved {
                name,
                path,
                bytes: data.len() as u64,
            });
        }
        Ok(saved)
    }
}

async fn write(path: &Path, data: &[u8]) -> Result<(), CliError> {
    tokio::fs::write(path, data)
        .await
        .map_err(|source| CliError::Write {
            path: path.to_owned(),
            source,
        })
}

/// The summary: one row per file, then the totals and where the outputs are.
#[must_use]
pub fn summary(reports: &[Report], out: &Path) -> String {
    let mut table = Table::new(&["FILE", "JOB", "STATUS", "RESULT"]);
    for report in reports {
        let (status, result) = match &report.outcome {
            Ok(saved) => {
                let total: u64 = saved.iter().map(|output| output.bytes).sum();
                let names: Vec<String> = saved
                    .iter()
                    .map(|output| format!("{} {}", output.name, human_bytes(output.bytes)))
                    .collect();
                let plural = if saved.len() == 1 { "" } else { "s" };
                (
                    "done",
                    format!(
                        "{} output{plural}, {} ({})",
                        saved.len(),
                        human_bytes(total),
                        names.join(", ")
                    ),
                )
            }
            Err(error) => ("failed", format!("{}: {}", error.code(), error.message())),
        };
        table.push(vec![
            report.file.clone(),
            report.job_id.clone().unwrap_or_else(|| "-".into()),
            status.into(),
            result,
        ]);
    }
    let failed = reports.iter().filter(|report| !report.succeeded()).count();
    let mut text = table.render();
    text.push_str(&format!(
        "\n{} done, {failed} failed; outputs in {}\n",
        reports.len() - failed,
        out.display()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_shows_outputs_and_failures() {
        let reports = [
            Report {
                file: "in/cat.png".into(),
                job_id: Some("0f8e6c1e".into()),
                outcome: Ok(vec![
                    Saved {
                        name: "thumb".into(),
                        path: "out/cat.thumb.jpeg".into(),
                        bytes: 2048,
                    },
                    Saved {
                        name: "wide".into(),
                        path: "out/cat.wide.webp".into(),
                        bytes: 512,
                    },
                ]),
            },
            Report {
                file: "in/bad.png".into(),
                job_id: Some("77aa".into()),
                outcome: Err(CliError::JobFailed {
                    code: "decode_failed".into(),
                    message: "the image data is truncated".into(),
                }),
            },
            Report {
                file: "in/huge.png".into(),
                job_id: None,
                outcome: Err(CliError::Api {
                    status: 413,
                    code: "payload_too_large".into(),
                    message: "the image is larger than the limit".into(),
                }),
            },
        ];
        assert_eq!(
            summary(&reports, Path::new("out")),
            "FILE         JOB       STATUS  RESULT\n\
             in/cat.png   0f8e6c1e  done    2 outputs, 2.5 KiB (thumb 2.0 KiB, wide 512 B)\n\
             in/bad.png   77aa      failed  decode_failed: the image data is truncated\n\
             in/huge.png  -         failed  payload_too_large: the image is larger than the limit\n\
             \n\
             1 done, 2 failed; outputs in out\n"
        );
    }
}

//! The operator commands of `imagepipe-save2db` (`dead-letters list|replay`): run one against the broker, print
//! what happened on stdout, and exit. They use only the AMQP settings: no MongoDB, no health port, no logging
//! (stdout stays clean for `--json`); errors go to stderr through `main`, with a non-zero exit status.

use std::io::Write as _;

use anyhow::Context;
use imagepipe_common::{amqp::Broker, config::AmqpArgs};

use crate::{
    config::{Command, DeadLetterCommand},
    dead_letters::{self, DeadLetter, ReplayReport, Selection},
};

/// Runs `command` against the broker `amqp` names.
///
/// # Errors
/// When the broker cannot be reached or has no dead-letter queue in the namespace, when stdout is closed, and
/// (after printing the report) when a selected dead letter could not be replayed or a requested job was not found.
pub async fn run(command: Command, amqp: &AmqpArgs) -> anyhow::Result<()> {
    let broker = Broker::new(amqp, "imagepipe-save2db dead-letters")
        .context("Failed to configure the broker connection")?;
    let queue = broker.topology().dead_letter_queue();
    match command {
        Command::DeadLetters(DeadLetterCommand::List { limit, json }) => {
            let total = dead_letters::count(&broker)
                .await
                .context("Failed to count the dead letters")?;
            let letters = dead_letters::list(&broker, limit)
                .await
                .context("Failed to list the dead letters")?;
            let output = if json {
                json_lines(&letters)?
            } else {
                table(&letters, total, &queue)
            };
            print(&output)
        }
        Command::DeadLetters(DeadLetterCommand::Replay { all, jobs, limit }) => {
            let selection = if all {
                Selection::All
            } else {
                Selection::Jobs(jobs)
            };
            let report = dead_letters::replay(&broker, &selection, limit)
                .await
                .context("Failed to replay the dead letters")?;
            print(&describe(&report, &broker.topology().exchange(), &queue))?;
            if report.failed.is_empty() && report.missing.is_empty() {
                Ok(())
            } else {
                anyhow::bail!(
                    "{} dead letter(s) not replayed, {} job(s) not found",
                    report.failed.len(),
                    report.missing.len()
                )
            }
        }
    }
}

fn print(output: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .context("Failed to write to stdout")
}

/// One JSON object per dead letter, one per line.
fn json_lines(letters: &[DeadLetter]) -> anyhow::Result<String> {
    let mut output = String::new();
    for letter in letters {
        output.push_str(&serde_json::to_string(letter).context("Failed to encode a dead letter")?);
        output.push('\n');
    }
    Ok(output)
}

/// A table of `letters`, and how many of the queue's `total` it shows.
fn table(letters: &[DeadLetter], total: u32, queue: &str) -> String {
    if letters.is_empty() {
        return format!("No dead letters in {queue}.\n");
    }
    let header = [
        "JOB",
        "QUEUE",
        "REASON",
        "DEATHS",
        "REPLAYS",
        "DIED AT",
        "ROUTING KEY",
        "TYPE",
        "BYTES",
        "TRACE",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 10]> = std::iter::once(header)
        .chain(letters.iter().map(|letter| {
            [
                or_dash(&letter.job_id),
                or_dash(&letter.queue),
                letter.reason.to_string(),
                letter.deaths.to_string(),
                letter.replayed.to_string(),
                letter.died_at().unwrap_or_else(|| "-".to_owned()),
                or_dash(&letter.routing_key),
                or_dash(&letter.message_type),
                letter.bytes.to_string(),
                or_dash(&letter.trace_id),
            ]
        }))
        .collect();
    let mut widths = [0; 10];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut output = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        output.push_str(line.join("  ").trim_end());
        output.push('\n');
    }
    output.push_str(&format!(
        "Showing {} of {total} dead letter(s) in {queue}.\n",
        letters.len()
    ));
    output
}

/// One line per dead letter replayed, failed, or job not found, then the counts.
fn describe(report: &ReplayReport, exchange: &str, queue: &str) -> String {
    let mut output = String::new();
    for letter in &report.replayed {
        output.push_str(&format!(
            "replayed  {}  died in {} ({}), republished to {exchange} with `{}`\n",
            or_dash(&letter.job_id),
            or_dash(&letter.queue),
            letter.reason,
            letter.routing_key
        ));
    }
    for failure in &report.failed {
        output.push_str(&format!(
            "failed    {}  {} (it stays in {queue})\n",
            or_dash(&failure.dead_letter.job_id),
            failure.reason
        ));
    }
    for job in &report.missing {
        output.push_str(&format!(
            "missing   {job}  not among the {} dead letter(s) examined\n",
            report.examined
        ));
    }
    output.push_str(&format!(
        "Examined {}: replayed {}, failed {}, kept {} (not selected, still in {queue}).\n",
        report.examined,
        report.replayed.len(),
        report.failed.len(),
        report.kept
    ));
    output
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dead_letters::{DeathReason, ReplayFailure};

    fn letter(job_id: &str) -> DeadLetter {
        DeadLetter {
            job_id: job_id.into(),
            trace_id: format!("trace-{job_id}"),
            message_type: "imagepipe.v1.ImageArchive".into(),
            bytes: 2048,
            queue: "imagepipe.archive".into(),
            reason: DeathReason::Rejected,
            deaths: 1,
            exchange: "imagepipe".into(),
            routing_key: "image.archive".into(),
            died_at_secs: Some(1_700_000_000),
            replayed: 0,
        }
    }

    #[test]
    fn the_table_aligns_its_columns_and_counts() {
        let output = table(&[letter("job-1"), letter("")], 5, "imagepipe.dead-letter");
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("JOB    QUEUE              REASON    DEATHS"));
        assert!(lines[1].starts_with("job-1  imagepipe.archive  rejected  1 "));
        assert!(lines[1].contains("2023-11-14T22:13:20Z  image.archive"));
        assert!(lines[2].starts_with("-      imagepipe.archive"));
        assert_eq!(
            lines[3],
            "Showing 2 of 5 dead letter(s) in imagepipe.dead-letter."
        );
        assert_eq!(table(&[], 0, "q"), "No dead letters in q.\n");
    }

    #[test]
    fn json_lines_hold_one_dead_letter_each() {
        let output = json_lines(&[letter("a"), letter("b")]).unwrap();
        let jobs: Vec<String> = output
            .lines()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line).unwrap()["job_id"].to_string()
            })
            .collect();
        assert_eq!(jobs, ["\"a\"", "\"b\""]);
    }

    #[test]
    fn the_replay_report_says_what_happened_to_each() {
        let report = ReplayReport {
            examined: 3,
            replayed: vec![letter("a")],
            kept: 1,
            failed: vec![ReplayFailure {
                dead_letter: letter("b"),
                reason: "the broker refused the message".into(),
            }],
            missing: vec!["c".into()],
        };
        assert_eq!(
            describe(&report, "imagepipe", "imagepipe.dead-letter"),
            "replayed  a  died in imagepipe.archive (rejected), republished to imagepipe with `image.archive`\n\
             failed    b  the broker refused the message (it stays in imagepipe.dead-letter)\n\
             missing   c  not among the 3 dead letter(s) examined\n\
             Examined 3: replayed 1, failed 1, kept 1 (not selected, still in imagepipe.dead-letter).\n"
        );
    }
}

//! What `imagepipe status ID` prints: the job's status, outputs or reason, then its timeline as a table (time,
//! event, the replica that did it). `--json` prints the gateway's document instead.

use crate::{
    documents::JobStatus,
    table::{Table, human_bytes},
};

/// The status of a job for people.
#[must_use]
pub fn render(status: &JobStatus) -> String {
    let mut out = format!("job     {}\nstatus  {}\n", status.id, status.status);
    for output in &status.outputs {
        out.push_str(&format!(
            "output  {} ({}, {})\n",
            output.name,
            output.format,
            human_bytes(output.bytes)
        ));
    }
    if let Some(error) = &status.error {
        out.push_str(&format!("error   {}: {}\n", error.code, error.message));
    }
    if !status.timeline.is_empty() {
        let mut table = Table::new(&["TIME", "EVENT", "BY"]);
        for step in &status.timeline {
            table.push(vec![step.at.clone(), step.event.clone(), step.by.clone()]);
        }
        out.push('\n');
        out.push_str(&table.render());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(document: serde_json::Value) -> JobStatus {
        serde_json::from_value(document).unwrap()
    }

    #[test]
    fn a_done_job_lists_its_outputs_then_its_timeline() {
        let text = render(&status(serde_json::json!({
            "id": "j1",
            "status": "done",
            "outputs": [{"name": "default", "url": "/image/j1/default", "format": "png", "width": 4,
                         "height": 3, "bytes": 1536}],
            "timeline": [
                {"event": "accepted", "at": "2025-01-01T12:00:00.000Z", "by": "gw-1", "status": "queued"},
                {"event": "started", "at": "2025-01-01T12:00:00.040Z", "by": "transformer-7", "status": "processing"},
                {"event": "done", "at": "2025-01-01T12:00:00.090Z", "by": "transformer-7", "status": "done"},
                {"event": "stored", "at": "2025-01-01T12:00:00.120Z", "by": "s2d", "status": "done"}
            ]
        })));
        assert_eq!(
            text,
            "job     j1\n\
             status  done\n\
             output  default (png, 1.5 KiB)\n\
             \n\
             TIME                      EVENT     BY\n\
             2025-01-01T12:00:00.000Z  accepted  gw-1\n\
             2025-01-01T12:00:00.040Z  started   transformer-7\n\
             2025-01-01T12:00:00.090Z  done      transformer-7\n\
             2025-01-01T12:00:00.120Z  stored    s2d\n"
        );
    }

    #[test]
    fn a_failed_job_says_why_and_a_job_without_steps_has_no_table() {
        let text = render(&status(serde_json::json!({
            "id": "j2",
            "status": "failed",
            "error": {"code": "decode_failed", "message": "not a picture"}
        })));
        assert_eq!(
            text,
            "job     j2\nstatus  failed\nerror   decode_failed: not a picture\n"
        );
    }
}

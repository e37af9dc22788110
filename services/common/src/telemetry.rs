//! Tracing initialisation: `RUST_LOG` (or `--log-level`) filter, pretty or JSON lines on stdout.
//!
//! JSON lines are flat objects, one per event: `timestamp`, `level`, `service`, `message`, then the fields of
//! every span the event is in (outermost first, so an inner span's field wins), then the event's own fields,
//! and `span`, the path of span names. Every line logged inside a job's span (`job_id`, `trace_id`) therefore
//! carries both ids as top-level fields, which log tools can filter on without knowing about spans:
//!
//! ```text
//! {"timestamp":"2025-01-01T12:00:00.000000Z","level":"INFO","service":"transformer","message":"Transformed the image.","job_id":"5f0c…","trace_id":"9a1e…","output":"default","bytes":5120,"span":"transform"}
//! ```

use std::fmt;

use serde_json::Value;
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    EnvFilter,
    fmt::{
        FmtContext, FormatEvent, FormatFields, FormattedFields,
        format::{JsonFields, Writer},
        time::{FormatTime, SystemTime},
    },
    registry::LookupSpan,
};

use crate::config::{LogArgs, LogFormat};

/// Installs the global subscriber for `service`. Call once, first thing in `main`.
pub fn init(service: &'static str, args: &LogArgs) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&args.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match args.log_format {
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines::new(service))
            .init(),
        LogFormat::Pretty => builder.init(),
    }
    tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "Starting.");
}

/// The JSON line format: one flat object per event, with the fields of the spans it is in at the top level.
/// Use it with [`JsonFields`] as the field formatter (so span fields are kept as JSON).
#[derive(Debug, Clone, Copy)]
pub struct JsonLines {
    service: &'static str,
}

impl JsonLines {
    /// Lines naming `service`.
    #[must_use]
    pub fn new(service: &'static str) -> Self {
        Self { service }
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut line = Line::default();
        line.insert("timestamp", Value::String(timestamp));
        line.insert("level", Value::from(event.metadata().level().as_str()));
        line.insert("service", Value::from(self.service));
        line.insert("message", Value::from(""));
        let mut names = Vec::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                names.push(span.name());
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&fields.fields) {
                    for (key, value) in fields {
                        line.insert_owned(key, value);
                    }
                }
            }
        }
        event.record(&mut line);
        if !names.is_empty() {
            line.insert("span", Value::String(names.join(":")));
        }
        // Written field by field, so the order above holds whatever map type serde_json was built with.
        let mut text = String::from("{");
        for (index, (key, value)) in line.0.iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            text.push_str(&Value::from(key.as_str()).to_string());
            text.push(':');
            text.push_str(&value.to_string());
        }
        text.push('}');
        writeln!(writer, "{text}")
    }
}

/// A line's fields in the order they were first set; setting a field again replaces its value in place.
#[derive(Debug, Default)]
struct Line(Vec<(String, Value)>);

impl Line {
    fn insert(&mut self, key: &str, value: Value) {
        match self.0.iter_mut().find(|(existing, _)| existing == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    fn insert_owned(&mut self, key: String, value: Value) {
        match self.0.iter_mut().find(|(existing, _)| *existing == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field.name(), Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.insert(field.name(), Value::String(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use tracing::Instrument;

    use super::*;

    /// A writer the subscriber under test writes its lines into.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn lines_of(run: impl FnOnce()) -> Vec<serde_json::Map<String, Value>> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("debug"))
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines::new("test"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| match serde_json::from_str(line) {
                Ok(Value::Object(object)) => object,
                other => panic!("not a JSON object: {line} ({other:?})"),
            })
            .collect()
    }

    #[test]
    fn lines_in_a_job_span_carry_its_ids_at_the_top_level() {
        let lines = lines_of(|| {
            tracing::info!("Outside any job.");
            let span = tracing::info_span!("transform", job_id = "job-1", trace_id = "trace-1");
            span.in_scope(|| {
                tracing::info!(bytes = 42_u64, "Transformed the image.");
                let inner = tracing::debug_span!("publish", routing_key = "image.archive");
                inner.in_scope(|| tracing::warn!(error = "nacked", "Could not publish."));
            });
        });
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert_eq!(lines[0]["message"], "Outside any job.");
        assert_eq!(lines[0]["service"], "test");
        assert!(!lines[0].contains_key("job_id"));
        for line in &lines[1..] {
            assert_eq!(line["job_id"], "job-1", "{line:?}");
            assert_eq!(line["trace_id"], "trace-1", "{line:?}");
            assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        }
        assert_eq!(lines[1]["message"], "Transformed the image.");
        assert_eq!(lines[1]["bytes"], 42);
        assert_eq!(lines[1]["level"], "INFO");
        assert_eq!(lines[1]["span"], "transform");
        assert_eq!(lines[2]["routing_key"], "image.archive");
        assert_eq!(lines[2]["error"], "nacked");
        assert_eq!(lines[2]["span"], "transform:publish");
    }

    #[test]
    fn async_work_instrumented_with_a_job_span_keeps_the_ids() {
        let lines = lines_of(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let span = tracing::info_span!("job", job_id = %"job-2", trace_id = %"trace-2");
            runtime.block_on(
                async {
                    tokio::task::yield_now().await;
                    tracing::info!("Accepted a job.");
                }
                .instrument(span),
            );
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["job_id"], "job-2");
        assert_eq!(lines[0]["trace_id"], "trace-2");
    }

    #[test]
    fn an_event_field_wins_over_the_span_field_of_the_same_name() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("job", job_id = "outer", trace_id = "t");
            span.in_scope(|| tracing::info!(job_id = "inner", "Which one?"));
        });
        assert_eq!(lines[0]["job_id"], "inner");
        assert_eq!(lines[0]["message"], "Which one?");
    }

    #[test]
    fn lines_start_with_time_level_service_and_message() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines::new("gateway"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(zebra = 1, "Quoted \"text\".");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with(r#"{"timestamp":""#), "{text}");
        assert!(
            text.contains(
                r#"","level":"INFO","service":"gateway","message":"Quoted \"text\".","zebra":1}"#
            ),
            "{text}"
        );
    }
}

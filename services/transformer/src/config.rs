//! The transformer's configuration: flags with environment-variable fallbacks. Only `main` parses the process
//! arguments; tests use [`Config::try_parse_from`](clap::Parser::try_parse_from).

use std::{net::SocketAddr, time::Duration};

use imagepipe_common::{
    config::{AmqpArgs, LogArgs},
    instance,
};
use imagepipe_engine::{
    DEFAULT_MAX_DIMENSION, DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_PIXELS, Limits,
};

use crate::{
    convert::ConvertArgs,
    presets::{DEFAULT_PRESETS, Presets},
};

/// How to run a transformer replica (the default), or the one-shot `convert` command.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "imagepipe-transformer",
    version,
    about = "Consumes imagepipe jobs: resizes and converts images, publishes results and archives."
)]
pub struct Config {
    /// `convert`: transform files once, without a broker. Absent: run the service.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address of `/healthz`, `/readyz` and `/metrics`; port 0 picks a free one.
    #[arg(long, env = "TRANSFORMER_HTTP_ADDR", default_value = "127.0.0.1:9091")]
    pub http_addr: SocketAddr,
    /// Images transformed at once (and the AMQP prefetch); default: the number of CPUs.
    #[arg(
        long,
        env = "TRANSFORMER_WORKERS",
        default_value_t = default_workers(),
        hide_default_value = true,
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    pub workers: u16,
    /// This replica's name in results, archives, job events and logs (made safe for routing keys); default: the
    /// host name and a random suffix.
    #[arg(
        long,
        env = "TRANSFORMER_INSTANCE_ID",
        value_parser = instance::parse
    )]
    pub instance_id: Option<String>,
    /// Most pixels (width x height) an input or a result may have; larger images fail with `too_large`
    /// (inputs from their header, before decoding).
    #[arg(
        long,
        env = "TRANSFORMER_MAX_PIXELS",
        default_value_t = DEFAULT_MAX_PIXELS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_pixels: u64,
    /// Most bytes an original may have (25 MiB by default); longer ones fail with `too_large` before being
    /// parsed. Keep it at least the gateway's `GATEWAY_MAX_UPLOAD_BYTES`.
    #[arg(
        long,
        env = "TRANSFORMER_MAX_INPUT_BYTES",
        default_value_t = DEFAULT_MAX_INPUT_BYTES,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_input_bytes: u64,
    /// Most pixels per side an original may have (from its header); longer sides fail with `too_large`.
    #[arg(
        long,
        env = "TRANSFORMER_MAX_DIMENSION",
        default_value_t = DEFAULT_MAX_DIMENSION,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_dimension: u32,
    /// Named variants clients may ask for by name (`variants=thumb,medium`): compact `name:WxH[.format]`
    /// items (fitted inside, never enlarged) or a JSON list of `{"name", …options}` objects.
    #[arg(
        long,
        env = "TRANSFORMER_PRESETS",
        default_value = DEFAULT_PRESETS,
        value_parser = Presets::parse
    )]
    pub presets: Presets,
    /// Seconds in-flight jobs may take to finish at shutdown before they are abandoned (and redelivered).
    #[arg(long, env = "TRANSFORMER_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// The broker and topology namespace.
    #[command(flatten)]
    pub amqp: AmqpArgs,
    /// Log filter and format.
    #[command(flatten)]
    pub log: LogArgs,
}

/// The subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Transform image files with the engine and write the results; no broker needed.
    Convert(ConvertArgs),
}

impl Config {
    /// The engine limits.
    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits::new(self.max_pixels)
            .with_max_input_bytes(self.max_input_bytes)
            .with_max_dimension(self.max_dimension)
    }

    /// The shutdown grace period.
    #[must_use]
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// The number of CPUs this process may use (at most 1024).
fn default_workers() -> u16 {
    std::thread::available_parallelism()
        .map_or(1, |count| u16::try_from(count.get()).unwrap_or(1024))
        .clamp(1, 1024)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn presets_are_configurable() {
        let config = Config::try_parse_from([
            "imagepipe-transformer",
            "--presets",
            "card:600x400.webp,icon:64x64",
        ])
        .unwrap();
        assert_eq!(config.presets.names().collect::<Vec<_>>(), ["card", "icon"]);
        let error =
            Config::try_parse_from(["imagepipe-transformer", "--presets", "a:0"]).unwrap_err();
        assert!(error.to_string().contains("width"), "{error}");
    }

    #[test]
    fn defaults_work_locally() {
        let config = Config::try_parse_from(["imagepipe-transformer"]).unwrap();
        assert_eq!(config.http_addr, "127.0.0.1:9091".parse().unwrap());
        assert!(config.workers >= 1);
        assert_eq!(config.instance_id, None, "generated at start-up");
        assert_eq!(config.limits(), Limits::default());
        assert_eq!(config.max_pixels, 50_000_000);
        assert_eq!(config.max_input_bytes, 25 * 1024 * 1024);
        assert_eq!(config.max_dimension, 32_768);
        assert_eq!(config.presets, Presets::default());
        assert_eq!(config.shutdown_grace(), Duration::from_secs(30));
        assert_eq!(config.amqp.amqp_namespace, "imagepipe");
    }

    #[test]
    fn flags_as_the_end_to_end_tests_pass_them() {
        let config = Config::try_parse_from([
            "imagepipe-transformer",
            "--amqp-url",
            "amqp://rabbit:5672/%2f",
            "--amqp-namespace",
            "t-123",
            "--http-addr",
            "127.0.0.1:0",
            "--workers",
            "2",
            "--instance-id",
            "tf-1",
            "--max-pixels",
            "1000",
            "--max-input-bytes",
            "2000",
            "--max-dimension",
            "300",
        ])
        .unwrap();
        assert_eq!(config.amqp.amqp_url, "amqp://rabbit:5672/%2f");
        assert_eq!(config.amqp.amqp_namespace, "t-123");
        assert_eq!(config.http_addr.port(), 0);
        assert_eq!(config.workers, 2);
        assert_eq!(config.instance_id.as_deref(), Some("tf-1"));
        assert_eq!(
            config.limits(),
            Limits::new(1000)
                .with_max_input_bytes(2000)
                .with_max_dimension(300)
        );
    }

    #[test]
    fn convert_is_a_subcommand() {
        let config = Config::try_parse_from([
            "imagepipe-transformer",
            "convert",
            "--width",
            "256",
            "--fit",
            "cover",
            "--format",
            "webp",
            "--out-dir",
            "out",
            "a.jpg",
            "b.png",
        ])
        .unwrap();
        let Some(Command::Convert(args)) = config.command else {
            panic!("expected convert");
        };
        assert_eq!(args.files.len(), 2);
        assert_eq!(args.threads, 1);
        assert_eq!(args.limits(), Limits::default());
        let spec = args.job().unwrap().spec;
        assert_eq!(spec.width, Some(256));
        assert_eq!(spec.fit(), imagepipe_proto::v1::Fit::Cover);
        assert_eq!(spec.format(), imagepipe_proto::v1::ImageFormat::Webp);
        assert!(Config::try_parse_from(["t", "convert", "--out-dir", "o"]).is_err());
        let gif =
            Config::try_parse_from(["t", "convert", "--format", "gif", "--out-dir", "o", "a"]);
        let Some(Command::Convert(args)) = gif.unwrap().command else {
            panic!("expected convert");
        };
        assert!(args.job().unwrap_err().contains("jpeg, png or webp"));
        assert!(Config::try_parse_from(["t"]).unwrap().command.is_none());
    }

    #[test]
    fn convert_takes_the_limits() {
        let config = Config::try_parse_from([
            "t",
            "convert",
            "--max-pixels",
            "10",
            "--max-input-bytes",
            "20",
            "--max-dimension",
            "30",
            "--out-dir",
            "o",
            "a",
        ])
        .unwrap();
        let Some(Command::Convert(args)) = config.command else {
            panic!("expected convert");
        };
        assert_eq!(
            args.limits(),
            Limits::new(10)
                .with_max_input_bytes(20)
                .with_max_dimension(30)
        );
        let zero = [
            "t",
            "convert",
            "--max-dimension",
            "0",
            "--out-dir",
            "o",
            "a",
        ];
        assert!(Config::try_parse_from(zero).is_err());
    }

    #[test]
    fn refuses_zero_workers_and_zero_limits() {
        assert!(Config::try_parse_from(["t", "--workers", "0"]).is_err());
        assert!(Config::try_parse_from(["t", "--max-pixels", "0"]).is_err());
        assert!(Config::try_parse_from(["t", "--max-input-bytes", "0"]).is_err());
        assert!(Config::try_parse_from(["t", "--max-dimension", "0"]).is_err());
    }
}

use clap::Parser;
use imagepipe_common::{shutdown, telemetry};
use imagepipe_save2db::{Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init("save2db", &config.log);
    Application::build(config)
        .await?
        .run_until_stopped(shutdown::signal())
        .await
}

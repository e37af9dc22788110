use clap::Parser;
use imagepipe_common::{shutdown, telemetry};
use imagepipe_save2db::{Application, Config, admin};

imagepipe_common::use_jemalloc!();

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    if let Some(command) = config.command {
        return admin::run(command, &config.amqp).await;
    }
    telemetry::init("save2db", &config.log);
    Application::build(config)
        .await?
        .run_until_stopped(shutdown::signal())
        .await
}

//! The stack one run starts and owns: its own SecantusDB (on disk, so it can be stopped and started again with
//! its data; a single-node replica set, so its primary can step down), one gateway, two transformers and one
//! save2db, each on a free port, all on a private AMQP namespace (`chaos-<8 hex>`) and database. The cluster run
//! has two of each service, its gateways behind HAProxy ([`crate::balancer`]), all of them given every node of
//! the RabbitMQ cluster. Nothing else on the machine is touched, except the shared broker's
//! `stop_app`/`start_app` (see [`crate::rabbitmq`]) and the cluster's nodes (see [`crate::cluster`]).

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    time::Duration,
};

use imagepipe_archive::layout::DEFAULT_BUCKET;

pub use crate::mongo::MongoServer;
use crate::{
    Error,
    balancer::Balancer,
    clock::{Clock, human},
    config::Config,
    process::Process,
};

/// How long a service gets to answer `GET /readyz` with 200.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a service gets to stop after SIGTERM before it is killed (the services' own grace is 30 s).
pub const STOP_GRACE: Duration = Duration::from_secs(45);

/// A service process and the address of its HTTP endpoints.
#[derive(Debug)]
pub struct Service {
    /// The process.
    pub process: Process,
    /// Where `/healthz`, `/readyz` (and, for the gateway, the API) listen.
    pub addr: SocketAddr,
}

impl Service {
    /// `http://host:port`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the service (again) and waits until `/readyz` answers 200.
    ///
    /// # Errors
    /// [`Error::NotRunning`] when it exits or is not ready within [`READY_TIMEOUT`]; the errors of
    /// [`Process::start`].
    pub async fn start(&mut self, http: &reqwest::Client) -> Result<u32, Error> {
        let pid = self.process.start()?;
        self.wait_ready(http, READY_TIMEOUT).await?;
        Ok(pid)
    }

    /// Waits until `/readyz` answers 200.
    ///
    /// # Errors
    /// [`Error::NotRunning`] when the process exits or is not ready in time.
    pub async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<(), Error> {
        let url = format!("{}/readyz", self.base_url());
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.exit_status() {
                return Err(self.process.not_running(format!("exited with {status}")));
            }
            let ready = http
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .is_ok_and(|response| response.status() == reqwest::StatusCode::OK);
            if ready {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self
                    .process
                    .not_running(format!("was not ready within {}", human(timeout))));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Everything one run started.
#[derive(Debug)]
pub struct Stack {
    /// The AMQP namespace (`chaos-<8 hex>`).
    pub namespace: String,
    /// The database name (`chaos_<8 hex>`).
    pub database: String,
    /// The database server.
    pub mongo: MongoServer,
    /// save2db: one, or two in the cluster run.
    pub save2dbs: Vec<Service>,
    /// The two transformers.
    pub transformers: Vec<Service>,
    /// The gateway, or the cluster run's two.
    pub gateways: Vec<Service>,
    /// The cluster run's HAProxy in front of the gateways.
    pub balancer: Option<Balancer>,
}

impl Stack {
    /// Plans the stack of one run: picks the names and free ports and writes no file yet.
    ///
    /// # Errors
    /// [`Error::Io`] when no free port can be had.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let namespace = format!("chaos-{id}");
        let database = format!("chaos_{id}");
        let out = &config.out_dir;
        let storage = out.join("mongo-data");
        let port = free_port()?;
        let mongo = MongoServer {
            process: Process::new("secantusdb", &config.secantusd, out.join("secantusdb.log"))
                .arg("--host")
                .arg("127.0.0.1")
                .arg("--port")
                .arg(port.to_string())
                .arg("--storage-path")
                .arg(storage.display().to_string()),
            port,
            storage,
        };
        let mongodb_uri = mongo.uri();
        let common = |process: Process| {
            process
                .env("AMQP_URL", &config.amqp_url)
                .env("AMQP_NAMESPACE", &namespace)
                .env("MONGODB_URI", &mongodb_uri)
                .env("MONGODB_DATABASE", &database)
                .env("LOG_FORMAT", "pretty")
                .env("NO_COLOR", "1")
        };
        let binary = |name: &str| config.bin_dir.join(format!("imagepipe-{name}"));
        let replicas = if config.cluster { 2 } else { 1 };
        // One replica keeps its plain name (`gateway`, `save2db`), as in the runs before the cluster run.
        let name = |service: &str, number: usize, of: usize| {
            if of == 1 {
                service.to_owned()
            } else {
                format!("{service}-{number}")
            }
        };

        let mut save2dbs = Vec::new();
        for number in 1..=replicas {
            let name = name("save2db", number, replicas);
            let addr = free_addr()?;
            save2dbs.push(Service {
                process: common(Process::new(&name, binary("save2db"), log(out, &name)))
                    .env("SAVE2DB_HTTP_ADDR", addr.to_string())
                    .env("SAVE2DB_INSTANCE_ID", &name)
                    .env("MONGODB_BUCKET", DEFAULT_BUCKET),
                addr,
            });
        }
        let mut transformers = Vec::new();
        for number in 1..=2 {
            let name = name("transformer", number, 2);
            let addr = free_addr()?;
            transformers.push(Service {
                process: common(Process::new(&name, binary("transformer"), log(out, &name)))
                    .env("TRANSFORMER_HTTP_ADDR", addr.to_string())
                    .env("TRANSFORMER_INSTANCE_ID", &name)
                    .env("TRANSFORMER_WORKERS", "2"),
                addr,
            });
        }
        let mut gateways = Vec::new();
        for number in 1..=replicas {
            let name = name("gateway", number, replicas);
            let addr = free_addr()?;
            gateways.push(Service {
                // A fixed instance id: a gateway started again after a kill consumes the same reply queue.
                process: common(Process::new(&name, binary("gateway"), log(out, &name)))
                    .env("GATEWAY_HTTP_ADDR", addr.to_string())
                    .env("GATEWAY_INSTANCE_ID", &name)
                    .env("MONGODB_BUCKET", DEFAULT_BUCKET),
                addr,
            });
        }
        let balancer = if config.cluster {
            let backends = gateways
                .iter()
                .map(|gateway| (gateway.process.name().to_owned(), gateway.addr))
                .collect();
            Some(Balancer::new(
                &config.haproxy,
                out,
                free_addr()?,
                free_addr()?,
                backends,
            ))
        } else {
            None
        };
        Ok(Self {
            namespace,
            database,
            mongo,
            save2dbs,
            transformers,
            gateways,
            balancer,
        })
    }

    /// Where clients send their requests: the balancer, else the gateway.
    #[must_use]
    pub fn entry_url(&self) -> String {
        match (&self.balancer, self.gateways.first()) {
            (Some(balancer), _) => balancer.base_url(),
            (None, Some(gateway)) => gateway.base_url(),
            (None, None) => String::new(),
        }
    }

    /// Starts the database, then save2db, the transformers and the gateways, each once the previous is ready,
    /// then the balancer.
    ///
    /// # Errors
    /// The first process that does not start or become ready.
    pub async fn start(&mut self, http: &reqwest::Client, clock: Clock) -> Result<(), Error> {
        let pid = self.mongo.start().await?;
        clock.say(format_args!(
            "SecantusDB listens on 127.0.0.1:{} (pid {pid}, data in {})",
            self.mongo.port,
            self.mongo.storage.display()
        ));
        for service in self.services_mut() {
            let pid = service.start(http).await?;
            clock.say(format_args!(
                "{} is ready on {} (pid {pid})",
                service.process.name(),
                service.addr
            ));
        }
        if let Some(balancer) = &mut self.balancer {
            let pid = balancer.start().await?;
            clock.say(format_args!(
                "HAProxy listens on {} (pid {pid}, stats on {}, configuration {})",
                balancer.frontend,
                balancer.stats,
                balancer.config_file.display()
            ));
        }
        Ok(())
    }

    /// The services in start order: save2db, the transformers, the gateways.
    pub fn services_mut(&mut self) -> impl Iterator<Item = &mut Service> {
        self.save2dbs
            .iter_mut()
            .chain(self.transformers.iter_mut())
            .chain(self.gateways.iter_mut())
    }

    /// Every process with its log, database first.
    #[must_use]
    pub fn logs(&self) -> Vec<(&str, &Path)> {
        std::iter::once(&self.mongo.process)
            .chain(self.save2dbs.iter().map(|service| &service.process))
            .chain(self.transformers.iter().map(|service| &service.process))
            .chain(self.gateways.iter().map(|service| &service.process))
            .chain(self.balancer.iter().map(|balancer| &balancer.process))
            .map(|process| (process.name(), process.log()))
            .collect()
    }

    /// Stops the balancer, then the services that run, gateways first and save2db last, each with SIGTERM and
    /// a grace period, and says how each ended.
    pub async fn stop_services(&mut self, clock: Clock) {
        if let Some(balancer) = &mut self.balancer
            && balancer.process.is_running()
        {
            match balancer.process.terminate(STOP_GRACE).await {
                Ok(_) => clock.say("Stopped HAProxy"),
                Err(error) => clock.say(format_args!("Could not stop HAProxy: {error}")),
            }
        }
        let mut services: Vec<&mut Service> = self.services_mut().collect();
        services.reverse();
        for service in services {
            let name = service.process.name().to_owned();
            match service.process.terminate(STOP_GRACE).await {
                Ok(stopped) if stopped.killed => clock.say(format_args!(
                    "{name} did not stop within {} of SIGTERM; killed it",
                    human(STOP_GRACE)
                )),
                Ok(stopped) => {
                    if let Some(status) = stopped.status {
                        clock.say(format_args!("Stopped {name} ({status})"));
                    }
                }
                Err(error) => clock.say(format_args!("Could not stop {name}: {error}")),
            }
        }
    }

    /// Stops the services, then the database server.
    pub async fn stop_all(&mut self, clock: Clock) {
        self.stop_services(clock).await;
        if self.mongo.process.is_running() {
            match self.mongo.stop().await {
                Ok(_) => clock.say("Stopped SecantusDB"),
                Err(error) => clock.say(format_args!("Could not stop SecantusDB: {error}")),
            }
        }
    }
}

fn log(out: &Path, name: &str) -> PathBuf {
    out.join(format!("{name}.log"))
}

/// A free TCP port on 127.0.0.1 (free now: the services bind it a moment later).
fn free_port() -> Result<u16, Error> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(Error::io("cannot bind", "127.0.0.1:0"))?;
    let port = listener
        .local_addr()
        .map_err(Error::io("cannot read the address of", "127.0.0.1:0"))?
        .port();
    Ok(port)
}

fn free_addr() -> Result<SocketAddr, Error> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}

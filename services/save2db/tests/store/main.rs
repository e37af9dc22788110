//! save2db against the real MongoDB-protocol server and RabbitMQ, each test on its own database (and AMQP
//! namespace), dropped at the end.

mod activity;
mod archive_store;
mod consumer;
mod dead_letters;
mod helpers;

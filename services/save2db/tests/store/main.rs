//! save2db against the real MongoDB-protocol server and RabbitMQ, each test on its own database (and AMQP
//! namespace), dropped at the end. The archive itself is tested in `lib/archive/tests/store`.

mod activity;
mod consumer;
mod dead_letters;
mod helpers;

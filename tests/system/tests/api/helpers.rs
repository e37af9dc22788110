//! What the suite's files share: the stack and the request helpers, and the servers to test against.

pub use imagepipe_archive::testkit::mongodb_uri;
pub use imagepipe_common::testkit::amqp_url;
pub use imagepipe_gateway::testkit::{ALICE_KEY, BOB_KEY, alice_and_bob, client_with_key};
pub use imagepipe_system_tests::{
    Gateway, Stack, decoded, error_of, get, get_final, picture, post_image, skip_without, stored,
};

//! What the suite's files share: the harness and the request helpers.

pub use imagepipe_gateway::testkit::{
    ALICE_KEY, Harness, alice_and_bob, client_with_key, error_of, get, picture, post_image,
};

//! `deploy/rabbitmq/definitions.json` (loaded by the broker in docker-compose) declares exactly the topology
//! the services declare at start, so the file cannot drift from [`Topology`]: same exchanges, same durable
//! queues with the same arguments, same bindings, and nothing else.

use std::collections::BTreeSet;

use imagepipe_proto::topology::{ArgValue, Topology};
use serde_json::{Map, Value, json};

const DEFINITIONS: &str = include_str!("../../deploy/rabbitmq/definitions.json");
const VHOST: &str = "/";

fn definitions() -> Value {
    serde_json::from_str(DEFINITIONS).expect("definitions.json is valid JSON")
}

fn section<'a>(definitions: &'a Value, key: &str) -> &'a Vec<Value> {
    definitions[key]
        .as_array()
        .unwrap_or_else(|| panic!("definitions.json has a `{key}` array"))
}

fn text<'a>(item: &'a Value, key: &str) -> &'a str {
    item[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is a string in {item}"))
}

fn topology() -> Topology {
    Topology::new("imagepipe")
}

#[test]
fn declares_exactly_the_two_durable_topic_exchanges() {
    let definitions = definitions();
    let exchanges = section(&definitions, "exchanges");
    let names: BTreeSet<&str> = exchanges.iter().map(|e| text(e, "name")).collect();
    let expected: BTreeSet<String> =
        [topology().exchange(), topology().dead_letter_exchange()].into();
    assert_eq!(
        names,
        expected.iter().map(String::as_str).collect(),
        "exchange names"
    );
    assert_eq!(exchanges.len(), expected.len(), "no exchange listed twice");
    for exchange in exchanges {
        // What `Broker::declare_topology` sends: topic, durable, not auto-deleted, not internal, no arguments.
        assert_eq!(text(exchange, "vhost"), VHOST, "{exchange}");
        assert_eq!(text(exchange, "type"), "topic", "{exchange}");
        assert_eq!(exchange["durable"], json!(true), "{exchange}");
        assert_eq!(exchange["auto_delete"], json!(false), "{exchange}");
        assert_eq!(exchange["internal"], json!(false), "{exchange}");
        assert_eq!(exchange["arguments"], json!({}), "{exchange}");
    }
}

#[test]
fn declares_exactly_the_durable_queues_with_their_arguments() {
    let definitions = definitions();
    let queues = section(&definitions, "queues");
    let specs = topology().durable_queues();
    assert_eq!(queues.len(), specs.len(), "queue count");
    for spec in &specs {
        let queue = queues
            .iter()
            .find(|queue| text(queue, "name") == spec.name)
            .unwrap_or_else(|| panic!("definitions.json declares queue `{}`", spec.name));
        assert_eq!(text(queue, "vhost"), VHOST, "{queue}");
        assert_eq!(queue["durable"], json!(true), "{queue}");
        assert_eq!(queue["auto_delete"], json!(false), "{queue}");
        let expected: Map<String, Value> = spec
            .arguments
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    ArgValue::Str(text) => json!(text),
                    ArgValue::Name(text) => json!(text),
                    ArgValue::Int(number) => json!(number),
                };
                ((*key).to_owned(), value)
            })
            .collect();
        assert_eq!(
            queue["arguments"],
            Value::Object(expected),
            "arguments of `{}`",
            spec.name
        );
    }
}

#[test]
fn declares_exactly_the_bindings_of_the_durable_queues() {
    let definitions = definitions();
    let bindings = section(&definitions, "bindings");
    let declared: BTreeSet<(String, String, String)> = bindings
        .iter()
        .map(|binding| {
            assert_eq!(text(binding, "vhost"), VHOST, "{binding}");
            assert_eq!(text(binding, "destination_type"), "queue", "{binding}");
            assert_eq!(binding["arguments"], json!({}), "{binding}");
            (
                text(binding, "source").to_owned(),
                text(binding, "destination").to_owned(),
                text(binding, "routing_key").to_owned(),
            )
        })
        .collect();
    assert_eq!(declared.len(), bindings.len(), "no binding listed twice");
    let expected: BTreeSet<(String, String, String)> = topology()
        .durable_queues()
        .into_iter()
        .flat_map(|spec| {
            let queue = spec.name;
            spec.bindings
                .into_iter()
                .map(move |(exchange, key)| (exchange, queue.clone(), key))
        })
        .collect();
    assert_eq!(declared, expected);
}

#[test]
fn has_the_default_vhost_and_an_administrator_for_the_console() {
    let definitions = definitions();
    let vhosts: Vec<&str> = section(&definitions, "vhosts")
        .iter()
        .map(|vhost| text(vhost, "name"))
        .collect();
    assert_eq!(vhosts, [VHOST]);

    // Boot-time definitions suppress the image's default guest user, so the file must bring its own.
    let users = section(&definitions, "users");
    let user = users
        .iter()
        .find(|user| text(user, "name") == "imagepipe")
        .expect("an `imagepipe` user");
    assert_eq!(user["tags"], json!(["administrator"]));
    assert_eq!(
        text(user, "hashing_algorithm"),
        "rabbit_password_hashing_sha256"
    );
    let permissions = section(&definitions, "permissions");
    let granted = permissions
        .iter()
        .find(|p| text(p, "user") == "imagepipe" && text(p, "vhost") == VHOST)
        .expect("permissions for `imagepipe` on `/`");
    for kind in ["configure", "write", "read"] {
        assert_eq!(text(granted, kind), ".*", "{kind} permission");
    }
}

#[test]
fn declares_no_policies_that_would_override_queue_arguments() {
    let definitions = definitions();
    assert!(
        definitions["policies"]
            .as_array()
            .is_none_or(|policies| policies.is_empty()),
        "a policy would silently change what the services declare; put it in the topology instead"
    );
}

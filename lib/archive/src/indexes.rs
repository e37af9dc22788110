//! Indexes the archive relies on, created when missing (whatever name or options an existing one of the same keys
//! has), so a service can open the archive on a fresh database or on one an operator prepared.

use futures_util::TryStreamExt;
use mongodb::{
    Collection, IndexModel,
    bson::{Bson, Document},
    error::ErrorKind,
    options::IndexOptions,
};

use crate::StoreError;

/// Creates an index on `keys` unless one with the same keys exists (whatever its name or options).
pub(crate) async fn ensure_index(
    collection: &Collection<Document>,
    keys: Document,
    unique: bool,
) -> Result<(), StoreError> {
    let existing: Vec<IndexModel> = match collection.list_indexes().await {
        Ok(cursor) => cursor
            .try_collect()
            .await
            .map_err(StoreError::mongo("listing indexes"))?,
        // The collection does not exist yet (NamespaceNotFound): it has no indexes.
        Err(error) if is_namespace_not_found(&error) => Vec::new(),
        Err(error) => return Err(StoreError::mongo("listing indexes")(error)),
    };
    if existing.iter().any(|index| same_keys(&index.keys, &keys)) {
        return Ok(());
    }
    let options = IndexOptions::builder()
        .unique(unique.then_some(true))
        .build();
    collection
        .create_index(IndexModel::builder().keys(keys).options(options).build())
        .await
        .map_err(StoreError::mongo("creating an index"))?;
    Ok(())
}

fn is_namespace_not_found(error: &mongodb::error::Error) -> bool {
    matches!(error.kind.as_ref(), ErrorKind::Command(command) if command.code == 26)
}

/// Whether two index key documents name the same fields in the same order and directions (`1` == `1.0`).
fn same_keys(left: &Document, right: &Document) -> bool {
    let direction = |value: &Bson| match value {
        Bson::Int32(number) => Some(i64::from(*number)),
        Bson::Int64(number) => Some(*number),
        #[allow(clippy::cast_possible_truncation)]
        Bson::Double(number) => Some(*number as i64),
        _ => None,
    };
    left.len() == right.len()
        && left.iter().zip(right.iter()).all(|((a, x), (b, y))| {
            a == b
                && match (direction(x), direction(y)) {
                    (Some(x), Some(y)) => x == y,
                    _ => x == y,
                }
        })
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

    #[test]
    fn index_keys_compare_by_field_and_direction() {
        assert!(same_keys(
            &doc! { "files_id": 1, "n": 1 },
            &doc! { "files_id": 1.0, "n": 1_i64 }
        ));
        assert!(!same_keys(
            &doc! { "n": 1, "files_id": 1 },
            &doc! { "files_id": 1, "n": 1 }
        ));
        assert!(!same_keys(&doc! { "a": 1 }, &doc! { "a": -1 }));
    }
}

//! The jobs save2db stored, as the API offers them: a page of them (`GET /images`) and deleting one
//! everywhere (`DELETE /image/{id}`).

pub mod deletion;
pub mod listing;

//! Who is calling: the warp filter that turns a request's `Authorization: Bearer <key>` into its [`Owner`], and
//! the rule of which jobs a caller may see.
//!
//! With API keys configured, every job route requires a valid key (`401 unauthorized` with a `WWW-Authenticate:
//! Bearer` challenge otherwise) and a caller sees only their own jobs: another owner's job answers exactly as a
//! missing one. Without keys the gateway runs open: the filter yields no owner and every job is everyone's.
//! Health, readiness, metrics, the web page, the API documents and static assets do not use this filter.

use std::sync::Arc;

use warp::{Filter, Rejection, http::HeaderValue};

use crate::{
    auth::keys::{ApiKeys, Owner},
    error::{ApiError, AuthFailure},
};

/// The caller of a job route: `Some(owner)` with API keys configured (requests without a valid key are
/// rejected), `None` when the gateway runs open.
pub fn caller(
    keys: Arc<ApiKeys>,
) -> impl Filter<Extract = (Option<Owner>,), Error = Rejection> + Clone {
    let authorization = warp::header::value("authorization")
        .map(Some)
        .or(warp::any().map(|| None))
        .unify();
    warp::any()
        .map(move || Arc::clone(&keys))
        .and(authorization)
        .and_then(
            |keys: Arc<ApiKeys>, header: Option<HeaderValue>| async move {
                identify(&keys, header.as_ref()).map_err(warp::reject::custom)
            },
        )
}

/// The owner the `Authorization` header names, `None` when the gateway runs open (whatever was sent).
///
/// # Errors
/// [`ApiError::Unauthorized`] when keys are configured and the header is missing, not `Bearer <key>`, or names a
/// key that is not configured.
pub fn identify(keys: &ApiKeys, header: Option<&HeaderValue>) -> Result<Option<Owner>, ApiError> {
    if keys.is_open() {
        return Ok(None);
    }
    let header = header.ok_or(ApiError::Unauthorized(AuthFailure::Missing))?;
    let key = bearer_token(header).ok_or(ApiError::Unauthorized(AuthFailure::Malformed))?;
    keys.owner_of(key)
        .cloned()
        .map(Some)
        .ok_or(ApiError::Unauthorized(AuthFailure::UnknownKey))
}

/// The token of `Bearer <token>` (the scheme in any case, RFC 7235), if that is what `header` is.
fn bearer_token(header: &HeaderValue) -> Option<&str> {
    let (scheme, token) = header.to_str().ok()?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// Whether `caller` may see a job owned by `owner` (`None`: no owner, or not known here). Everyone sees every
/// job of an open gateway; with keys, an owner sees only jobs known to be theirs.
#[must_use]
pub fn may_see(caller: Option<&Owner>, owner: Option<&str>) -> bool {
    match caller {
        None => true,
        Some(caller) => owner == Some(caller.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{auth::keys, error::rejection::handle_rejection};

    fn keys() -> Arc<ApiKeys> {
        let alice = keys::entry(&Owner::new("alice").unwrap(), "ipk_alice");
        let bob = keys::entry(&Owner::new("bob").unwrap(), "ipk_bob");
        Arc::new(ApiKeys::load(Some(&format!("{alice},{bob}")), None).unwrap())
    }

    fn route(
        keys: Arc<ApiKeys>,
    ) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone {
        warp::path!("whoami")
            .and(caller(keys))
            .map(|owner: Option<Owner>| owner.map_or_else(|| "open".to_owned(), |o| o.to_string()))
            .recover(handle_rejection)
    }

    async fn call(keys: Arc<ApiKeys>, authorization: Option<&[u8]>) -> (u16, String, String) {
        let mut request = warp::test::request().path("/whoami");
        if let Some(value) = authorization {
            request = request.header("authorization", HeaderValue::from_bytes(value).unwrap());
        }
        let response = request.reply(&route(keys)).await;
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        (response.status().as_u16(), body, challenge)
    }

    #[tokio::test]
    async fn a_valid_key_names_its_owner() {
        for header in [
            &b"Bearer ipk_alice"[..],
            b"bearer ipk_alice",
            b"  BEARER   ipk_alice ",
        ] {
            let (status, body, _) = call(keys(), Some(header)).await;
            assert_eq!((status, body.as_str()), (200, "alice"));
        }
        let (status, body, _) = call(keys(), Some(b"Bearer ipk_bob")).await;
        assert_eq!((status, body.as_str()), (200, "bob"));
    }

    #[tokio::test]
    async fn no_wrong_or_malformed_key_is_401_with_a_challenge() {
        let (status, body, challenge) = call(keys(), None).await;
        assert_eq!(status, 401);
        assert_eq!(challenge, r#"Bearer realm="imagepipe""#);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], "unauthorized");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("Authorization: Bearer")
        );
        for header in [
            &b"Bearer ipk_carol"[..],
            b"Bearer ipk_alice2",
            b"Bearer",
            b"Bearer ",
            b"Basic YWxpY2U6eA==",
            b"ipk_alice",
            b"Bearer ipk_alice extra",
            b"Bearer \xffipk_alice",
        ] {
            let (status, body, challenge) = call(keys(), Some(header)).await;
            assert_eq!(status, 401, "{}", String::from_utf8_lossy(header));
            assert!(challenge.starts_with("Bearer "), "{challenge}");
            assert!(challenge.contains("invalid_token"), "{challenge}");
            assert!(body.contains(r#""code":"unauthorized""#), "{body}");
        }
    }

    #[tokio::test]
    async fn an_open_gateway_ignores_keys() {
        let open = Arc::new(ApiKeys::default());
        for header in [None, Some(&b"Bearer ipk_alice"[..]), Some(b"garbage \xff")] {
            let (status, body, _) = call(Arc::clone(&open), header).await;
            assert_eq!((status, body.as_str()), (200, "open"));
        }
    }

    #[test]
    fn owners_see_only_their_own_jobs() {
        let alice = Owner::new("alice").unwrap();
        assert!(may_see(None, None), "open: every job");
        assert!(may_see(None, Some("alice")));
        assert!(may_see(Some(&alice), Some("alice")));
        assert!(!may_see(Some(&alice), Some("bob")));
        assert!(
            !may_see(Some(&alice), Some("")),
            "a job of the open gateway"
        );
        assert!(!may_see(Some(&alice), None), "an owner not known");
    }
}

//! Who may do what: the role matrix over every endpoint, authentication failures, and
//! the problem details the server answers for paths and methods it does not serve.

mod common;

use fleetdeck_api::{Role, WhoAmI};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Every GET endpoint; any role may read.
const READS: &[&str] = &[
    "/v1/whoami",
    "/v1/snapshot",
    "/v1/databases",
    "/v1/databases/pg-dev-01",
    "/v1/campaigns",
    "/v1/evidence",
    "/v1/approvals",
    "/v1/approvals?state=all",
    "/v1/events?after=0&limit=10",
];

#[derive(Clone, Copy, PartialEq)]
enum Needs {
    Operate,
    Decide,
}

/// Every mutating endpoint, aimed at things that do not exist (or a body that fails
/// validation) so a caller who passes the role check gets a domain answer (400/404)
/// rather than changing anything.
const WRITES: &[(&str, &str, Needs)] = &[
    (
        "/v1/campaigns",
        r#"{"title": "", "target_version": "16.4"}"#,
        Needs::Operate,
    ),
    (
        "/v1/campaigns/cmp-404/pause",
        r#"{"reason": "x"}"#,
        Needs::Operate,
    ),
    ("/v1/campaigns/cmp-404/resume", "", Needs::Operate),
    (
        "/v1/campaigns/cmp-404/rollback",
        r#"{"reason": "x"}"#,
        Needs::Operate,
    ),
    ("/v1/databases/no-such-db/drills", "", Needs::Operate),
    ("/v1/approvals/apr-404/approve", "", Needs::Decide),
    (
        "/v1/approvals/apr-404/reject",
        r#"{"comment": "no"}"#,
        Needs::Decide,
    ),
];

fn may(roles: &[Role], needs: Needs) -> bool {
    let who = WhoAmI {
        user: String::new(),
        roles: roles.to_vec(),
    };
    match needs {
        Needs::Operate => who.can_operate(),
        Needs::Decide => who.can_approve(),
    }
}

#[tokio::test]
async fn role_matrix_over_every_endpoint() {
    let ts = common::start_with_fleet().await;
    for path in READS {
        let none = ts.get(path).send().await;
        assert_eq!(
            none.status,
            StatusCode::UNAUTHORIZED,
            "{path} without token"
        );
        none.problem();
        let bad = ts
            .get(path)
            .authorization("Bearer not-a-token")
            .send()
            .await;
        assert_eq!(
            bad.status,
            StatusCode::UNAUTHORIZED,
            "{path} with unknown token"
        );
        assert_eq!(bad.problem().detail, "unknown token");
        for (user, _) in common::USERS {
            let a = ts.get(path).by(user).send().await;
            assert_eq!(a.status, StatusCode::OK, "{path} as {user}: {}", a.body);
        }
    }
    for (path, body, needs) in WRITES {
        let none = ts.post(path).raw(*body).send().await;
        assert_eq!(
            none.status,
            StatusCode::UNAUTHORIZED,
            "{path} without token"
        );
        let bad = ts
            .post(path)
            .raw(*body)
            .authorization("Basic YWxpY2U6")
            .send()
            .await;
        assert_eq!(
            bad.status,
            StatusCode::UNAUTHORIZED,
            "{path} with a non-bearer scheme"
        );
        let unknown = ts
            .post(path)
            .raw(*body)
            .authorization("Bearer not-a-token")
            .send()
            .await;
        assert_eq!(
            unknown.status,
            StatusCode::UNAUTHORIZED,
            "{path} with an unknown token"
        );
        assert_eq!(unknown.problem().detail, "unknown token");
        for (user, roles) in common::USERS {
            let a = ts.post(path).by(user).raw(*body).send().await;
            let p = a.problem();
            if may(roles, *needs) {
                assert!(
                    matches!(a.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND),
                    "{path} as {user} should pass the role check: {} {}",
                    a.status,
                    a.body
                );
            } else {
                assert_eq!(
                    a.status,
                    StatusCode::FORBIDDEN,
                    "{path} as {user}: {}",
                    a.body
                );
                assert!(p.detail.contains("needs"), "{}", p.detail);
            }
        }
    }
}

/// The event stream never ends, so only its status is read: 401 without or with an
/// unknown token, 200 for every role.
#[tokio::test]
async fn the_event_stream_is_in_the_role_matrix() {
    let ts = common::start().await;
    let url = ts.url("/v1/events/stream");
    let status = |auth: Option<String>| {
        let mut rb = ts.client.get(&url);
        if let Some(a) = auth {
            rb = rb.header(reqwest::header::AUTHORIZATION, a);
        }
        async move { rb.send().await.expect("stream request").status() }
    };
    assert_eq!(status(None).await, StatusCode::UNAUTHORIZED);
    let bad = Some("Bearer not-a-token".to_string());
    assert_eq!(status(bad).await, StatusCode::UNAUTHORIZED);
    for (user, _) in common::USERS {
        let auth = Some(format!("Bearer {}", common::token(user)));
        assert_eq!(status(auth).await, StatusCode::OK, "stream as {user}");
    }
}

#[tokio::test]
async fn whoami_health_and_readiness() {
    let ts = common::start().await;
    let me: WhoAmI = ts.get("/v1/whoami").by("ada").send().await.json();
    assert_eq!(me.user, "ada");
    assert_eq!(me.roles, vec![Role::Admin]);
    for path in ["/healthz", "/readyz"] {
        let a = ts.get(path).send().await;
        assert_eq!(a.status, StatusCode::OK, "{path} needs no token");
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problem_details() {
    let ts = common::start().await;
    let missing = ts.get("/v1/nothing-here").by("vic").send().await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    missing.problem();
    let wrong = ts
        .req(Method::DELETE, "/v1/campaigns")
        .by("ada")
        .send()
        .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    wrong.problem();
    assert!(wrong.headers.contains_key(reqwest::header::ALLOW));
    let bad_query = ts.get("/v1/events?after=minus-one").by("vic").send().await;
    assert_eq!(bad_query.status, StatusCode::BAD_REQUEST);
    bad_query.problem();
}

#[tokio::test]
async fn a_viewer_is_refused_before_the_body_is_looked_at() {
    let ts = common::start_with_fleet().await;
    let a = ts
        .post("/v1/campaigns")
        .by("vic")
        .json(&json!({"title": "t", "target_version": "16.4"}))
        .send()
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let campaigns: Vec<serde_json::Value> = ts.get("/v1/campaigns").by("vic").send().await.json();
    assert!(campaigns.is_empty(), "nothing was created");
}

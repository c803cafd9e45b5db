//! Routing and the endpoints that answer on the event loop: `/ping`, `/debug/vars`, errors.
//! `/write` is planned by `write` (and `/api/v2/write`, its parameters translated by
//! `write_v2`, exactly so); `/query` becomes a job for the query pool.
//!
//! With `[http] auth-enabled`, `/write`, `/query` and `/debug/vars` first identify the
//! sender (`auth`: a 401 for bad or missing credentials); `/write` is then refused (403)
//! without WRITE on an existing database, `/debug/vars` without admin, and a query carries
//! the identity to the query layer, which authorizes each statement. `/ping` is always open.
//!
//! Every answer here is built, not sent: the event loop serialises it once the request's work
//! (none, a durable write, a query) is done.

use crate::http::auth::{admin_refusal, write_refusal, Authenticator};
use crate::http::framing::{Method, Request};
use crate::http::large_write::LargeWriteTarget;
use crate::http::query_string::{parse_query_string, query_param};
use crate::http::response::Response;
use crate::http::write::{plan_write, HttpWriteContext, WritePlan, WriteRoute, WriteScratch};
use crate::query::authorize::Identity;
use crate::query::QueryRequest;

/// What the event loop must do for one request.
pub enum Action {
    /// answer now
    Respond(Response),
    /// answer without the identity headers of a handled request (Go's 404/405 pages)
    RespondBare(Response),
    /// make records durable, then answer
    Write {
        /// (partition, record, points)
        records: Vec<(usize, Vec<u8>, u32)>,
        /// the answer once durable
        on_durable: Response,
    },
    /// run on the query pool, then answer with its result
    Query(QueryRequest),
    /// hand the request's body to a large-write thread, then answer with its result
    LargeWrite(LargeWriteTarget),
    /// `/ping?wait_for_leader=`: answer `on_leader` once the meta group has a leader this
    /// node hears from, or 503 after `timeout` (never waiting on the event loop)
    WaitForLeader {
        /// the `wait_for_leader` duration
        timeout: std::time::Duration,
        /// the answer when a leader is known in time
        on_leader: Response,
    },
}

/// The text of the 503 a `/ping?wait_for_leader` gets when no leader is known in time.
pub const NO_LEADER_IN_TIME: &str = "timeout waiting for meta leader";

/// Who tells `/ping?wait_for_leader` when the meta group has a leader (the server installs
/// the meta group; without one a node is its own leader).
pub trait LeaderWait: Send + Sync {
    /// Calls `deliver(true)` once a leader is known (at once if it is), `deliver(false)` at
    /// `deadline`; must not block.
    fn when_leader_known(
        &self,
        deadline: std::time::Instant,
        deliver: Box<dyn FnOnce(bool) + Send>,
    );
}

/// Routes one framed request; `auth` is `None` with `[http] auth-enabled = false`.
pub fn route(
    request: &Request,
    write_context: &HttpWriteContext<'_>,
    scratch: &mut WriteScratch,
    debug_vars: &dyn Fn() -> Vec<u8>,
    auth: Option<&Authenticator>,
) -> Action {
    let params = parse_query_string(&request.head.query);
    let method = &request.head.method;
    match request.head.path.as_str() {
        "/ping" | "/status" => match method {
            Method::Get | Method::Head => {
                ping(&params, write_context.planning.ingest.wal_failing())
            }
            _ => method_not_allowed("GET, HEAD"),
        },
        "/write" => match method {
            Method::Post => match refuse_write(request, &params, write_context, auth) {
                Some(refusal) => Action::Respond(refusal),
                None => write(request, &params, write_context, scratch),
            },
            Method::Options => Action::Respond(Response::empty(200)),
            _ => method_not_allowed("OPTIONS, POST"),
        },
        "/api/v2/write" => match method {
            Method::Post => write_v2(request, &params, write_context, scratch, auth),
            _ => method_not_allowed("POST"),
        },
        "/api/v1/prom/read" => match method {
            Method::Post => prometheus_read(request, params, auth, write_context),
            _ => method_not_allowed("POST"),
        },
        "/api/v1/prom/write" => match method {
            Method::Post => match refuse_write(request, &params, write_context, auth) {
                Some(refusal) => Action::Respond(refusal),
                None => plan_action(crate::http::prometheus::plan_remote_write(
                    request,
                    &params,
                    write_context,
                    scratch,
                )),
            },
            _ => method_not_allowed("POST"),
        },
        "/query" => match method {
            Method::Get | Method::Post => query(request, params, auth, write_context),
            Method::Options => Action::Respond(Response::empty(200)),
            _ => method_not_allowed("GET, POST, OPTIONS"),
        },
        "/debug/vars" => match method {
            Method::Get | Method::Head => match refuse_admin(request, &params, write_context, auth)
            {
                Some(refusal) => Action::Respond(refusal),
                None => Action::Respond(Response::json(200, debug_vars())),
            },
            // A CORS preflight (the admin UI sends `Authorization` from another port);
            // InfluxDB 1.6.7 has no OPTIONS route here.
            Method::Options => Action::Respond(Response::empty(200)),
            _ => method_not_allowed("GET, HEAD, OPTIONS"),
        },
        "/metrics" => match method {
            Method::Get | Method::Head => match refuse_admin(request, &params, write_context, auth)
            {
                Some(refusal) => Action::Respond(refusal),
                None => match crate::http::metrics::exposition(&debug_vars()) {
                    Some(text) => {
                        let mut response = Response::plain_text(200, "");
                        response.body = text.into_bytes();
                        response.headers.retain(|(name, _)| *name != "Content-Type");
                        response.headers.push((
                            "Content-Type",
                            "text/plain; version=0.0.4; charset=utf-8".to_string(),
                        ));
                        Action::RespondBare(response)
                    }
                    None => {
                        Action::Respond(Response::json_error(500, "BUG: /debug/vars is not JSON"))
                    }
                },
            },
            _ => method_not_allowed("GET, HEAD"),
        },
        _ => Action::RespondBare(Response::plain_text(404, "404 page not found")),
    }
}

/// With auth on: the 401 or 403 that refuses a write, checked as 1.6.7 orders it (credentials
/// first; the privilege only once the database is known to exist, so `db` errors stay 400/404).
fn refuse_write(
    request: &Request,
    params: &[(String, String)],
    write_context: &HttpWriteContext<'_>,
    auth: Option<&Authenticator>,
) -> Option<Response> {
    let auth = auth?;
    let meta = write_context.planning.meta;
    let identity = match auth.identify(meta, params, request) {
        Ok(identity) => identity,
        Err(unauthorized) => return Some(unauthorized),
    };
    refuse_unprivileged_write(&identity, params, write_context)
}

/// The 403 for a user without WRITE on the existing database `db` of `params`.
fn refuse_unprivileged_write(
    identity: &Identity,
    params: &[(String, String)],
    write_context: &HttpWriteContext<'_>,
) -> Option<Response> {
    let meta = write_context.planning.meta;
    let database = query_param(params, "db").unwrap_or("");
    if database.is_empty() || meta.database(database).is_none() {
        return None;
    }
    write_refusal(identity, meta, database)
}

/// `POST /api/v2/write` as InfluxDB 1.8 orders it: credentials, then the 2.x parameters
/// (`http::write_v2`), then exactly `/write` with the translated ones.
fn write_v2(
    request: &Request,
    params: &[(String, String)],
    write_context: &HttpWriteContext<'_>,
    scratch: &mut WriteScratch,
    auth: Option<&Authenticator>,
) -> Action {
    let identity = match identify(request, params, write_context, auth) {
        Ok(identity) => identity,
        Err(unauthorized) => return Action::Respond(unauthorized),
    };
    let v1_params = match crate::http::write_v2::v1_write_params(params) {
        Ok(v1_params) => v1_params,
        Err(refusal) => return Action::Respond(refusal),
    };
    if let Some(refusal) = refuse_unprivileged_write(&identity, &v1_params, write_context) {
        return Action::Respond(refusal);
    }
    write(request, &v1_params, write_context, scratch)
}

/// With auth on: the 401 or 403 that keeps a non-admin from an admin-only endpoint.
fn refuse_admin(
    request: &Request,
    params: &[(String, String)],
    write_context: &HttpWriteContext<'_>,
    auth: Option<&Authenticator>,
) -> Option<Response> {
    let auth = auth?;
    let meta = write_context.planning.meta;
    match auth.identify(meta, params, request) {
        Ok(identity) => admin_refusal(&identity, meta),
        Err(unauthorized) => Some(unauthorized),
    }
}

fn write(
    request: &Request,
    params: &[(String, String)],
    write_context: &HttpWriteContext<'_>,
    scratch: &mut WriteScratch,
) -> Action {
    match plan_write(request, params, write_context, scratch) {
        WriteRoute::Planned(plan) => plan_action(plan),
        WriteRoute::Large(target) => Action::LargeWrite(target),
    }
}

/// The action for a planned write: answer now, or once its records are durable.
fn plan_action(plan: WritePlan) -> Action {
    match plan {
        WritePlan::Respond(response) => Action::Respond(response),
        WritePlan::Submit {
            records,
            on_durable,
        } => Action::Write {
            records,
            on_durable,
        },
    }
}

fn method_not_allowed(allow: &str) -> Action {
    let mut response = Response::plain_text(405, "Method Not Allowed");
    response.headers.push(("Allow", allow.to_string()));
    Action::RespondBare(response)
}

/// `/ping`, as influxd answers it; while the WAL cannot be written (a full disk) the answer
/// also carries `X-Sluice-Read-Only: true` (queries are served, writes answered 500).
fn ping(params: &[(String, String)], read_only: bool) -> Action {
    let mut wait_for_leader = None;
    if let Some(wait) = query_param(params, "wait_for_leader") {
        match crate::config::parse_duration(wait) {
            Ok(timeout) => wait_for_leader = Some(timeout),
            Err(_) => {
                return Action::Respond(Response::json_error(
                    400,
                    &format!("invalid wait_for_leader duration: {wait:?}"),
                ))
            }
        }
    }
    if query_param(params, "verbose").is_some_and(|v| v == "true" || v == "1") {
        let body = format!(
            "{{\"version\":\"{}\"}}\n",
            crate::INFLUXDB_COMPATIBLE_VERSION
        );
        let mut response = Response::json(200, body.into_bytes());
        if read_only {
            response
                .headers
                .push((READ_ONLY_HEADER, "true".to_string()));
        }
        return Action::Respond(response);
    }
    let mut response = Response::no_content();
    if read_only {
        response
            .headers
            .push((READ_ONLY_HEADER, "true".to_string()));
    }
    match wait_for_leader {
        Some(timeout) => Action::WaitForLeader {
            timeout,
            on_leader: response,
        },
        None => Action::Respond(response),
    }
}

/// The `/ping` header that says the server cannot write its WAL.
pub const READ_ONLY_HEADER: &str = "X-Sluice-Read-Only";

fn query(
    request: &Request,
    mut params: Vec<(String, String)>,
    auth: Option<&Authenticator>,
    write_context: &HttpWriteContext<'_>,
) -> Action {
    let is_form = request
        .head
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    // `pretty` is read from the URL only; every other parameter from the form body first,
    // then the URL (Go's Request.FormValue).
    let pretty = query_param(&params, "pretty") == Some("true");
    if request.head.method == Method::Post && is_form {
        let mut form = parse_query_string(&String::from_utf8_lossy(&request.body));
        form.append(&mut params);
        params = form;
    }
    // Credentials come first (1.6.7 answers 401 before looking at `q`); `u`/`p` may also be
    // in the form body here (1.6.7 reads only the URL's).
    let identity = match identify(request, &params, write_context, auth) {
        Ok(identity) => identity,
        Err(unauthorized) => return Action::Respond(unauthorized),
    };
    let text = query_param(&params, "q").unwrap_or("").trim();
    if text.is_empty() {
        return Action::Respond(Response::json_error(
            400,
            "missing required parameter \"q\"",
        ));
    }
    Action::Query(QueryRequest {
        is_get: request.head.method == Method::Get,
        pretty,
        accept: request.head.accept.clone(),
        ..query_request(text.to_string(), &params, identity)
    })
}

/// A query of `text` with the parameters of `params` the query layer reads (`db`, `rp`,
/// `params`, `chunked`, `chunk_size`, `epoch`), as a POST without `pretty` or `Accept`.
fn query_request(text: String, params: &[(String, String)], identity: Identity) -> QueryRequest {
    let param = |name: &str| query_param(params, name).map(str::to_string);
    QueryRequest {
        retention_policy: param("rp").unwrap_or_default(),
        bound_parameters: param("params"),
        chunked: query_param(params, "chunked") == Some("true"),
        chunk_size: param("chunk_size"),
        epoch: param("epoch"),
        identity,
        ..QueryRequest::new(text, query_param(params, "db").unwrap_or(""))
    }
}

/// Who sent a query (unchecked with auth off), or the 401 to answer.
fn identify(
    request: &Request,
    params: &[(String, String)],
    write_context: &HttpWriteContext<'_>,
    auth: Option<&Authenticator>,
) -> Result<Identity, Response> {
    match auth {
        None => Ok(Identity::Unchecked),
        Some(auth) => auth.identify(write_context.planning.meta, params, request),
    }
}

/// `POST /api/v1/prom/read`: the request's one query as InfluxQL, run on the query threads
/// and answered as a snappy protobuf `ReadResponse` (see `http::prometheus`).
fn prometheus_read(
    request: &Request,
    params: Vec<(String, String)>,
    auth: Option<&Authenticator>,
    write_context: &HttpWriteContext<'_>,
) -> Action {
    let identity = match identify(request, &params, write_context, auth) {
        Ok(identity) => identity,
        Err(unauthorized) => return Action::Respond(unauthorized),
    };
    let text = match crate::http::prometheus::remote_read_statement(
        &request.body,
        &params,
        write_context.planning.meta,
        write_context.max_inflated_body_bytes,
    ) {
        Ok(text) => text,
        Err(refusal) => return Action::Respond(refusal),
    };
    Action::Query(QueryRequest {
        prometheus_read: true,
        ..query_request(text, &params, identity)
    })
}

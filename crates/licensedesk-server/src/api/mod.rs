//! HTTP routes, one module per area, and the OpenAPI document.

pub mod accounts;
pub mod admin;
pub mod devices;
pub mod expiry;
pub mod extract;
pub mod field;
pub mod floating;
pub mod gateways;
pub mod installs;
pub mod keys;
pub mod licenses;
pub mod products;
pub mod sync;
pub mod usage;

use axum::routing::get;
use axum::{Router, middleware};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::extract::Json;

#[derive(OpenApi)]
#[openapi(
    info(title = "LicenseDesk server", description = "License server the LicenseDesk desktop app syncs with. Errors are `{code, message}`."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Documents on every operation the errors any route may answer with its
/// `{code, message}` body (see `api::extract` and `auth`): 400 for a path,
/// query or body that does not parse or is out of bounds, 404, 405; with a
/// token, 401 and 403 (the other role's token); with a body, 413 and 415;
/// on a POST, 409 (a conflict with the current state) and 422 (an
/// `Idempotency-Key` reused for another request). An operation's own
/// documentation of a status wins.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = || {
            ResponseBuilder::new()
                .description("An error: `{code, message}`; callers branch on `code`.")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let post = item.post.is_some();
            for op in [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                let mut statuses = vec!["400", "404", "405"];
                if op.security.is_some() {
                    statuses.extend(["401", "403"]);
                }
                if op.request_body.is_some() {
                    statuses.extend(["413", "415"]);
                }
                if post {
                    statuses.extend(["409", "422"]);
                }
                for status in statuses {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error().into());
                }
            }
        }
    }
}

/// A write's context, from its request: the time, and the
/// `Idempotency-Key` record to keep with the effect.
impl axum::extract::FromRequestParts<AppState> for crate::store::Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self {
            now: state.now(),
            key: crate::idempotency::current(),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: no database access.
#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

// The two deprecated routes answer 403 to everyone; they are kept so an
// old client learns why (see their docs).
#[allow(deprecated)]
pub fn router(state: AppState) -> Router {
    let (router, openapi) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(keys::keyset))
        .routes(routes!(keys::time))
        .routes(routes!(sync::feed))
        .routes(routes!(sync::snapshot))
        .routes(routes!(accounts::create))
        .routes(routes!(accounts::overview))
        .routes(routes!(accounts::verify_enterprise))
        .routes(routes!(accounts::verify_enterprise_self))
        .routes(routes!(products::list, products::create))
        .routes(routes!(products::create_for_account))
        .routes(routes!(products::get))
        .routes(routes!(products::upgrade))
        .routes(routes!(products::change_package))
        .routes(routes!(products::assign))
        .routes(routes!(products::credit))
        .routes(routes!(products::topup))
        .routes(routes!(devices::connect))
        .routes(routes!(devices::detail))
        .routes(routes!(expiry::near_expiry))
        .routes(routes!(usage::messages))
        .routes(routes!(usage::ota))
        .routes(routes!(usage::logs))
        .routes(routes!(usage::billing))
        .routes(routes!(usage::statements))
        .routes(routes!(licenses::consumption))
        .routes(routes!(gateways::create_order))
        .routes(routes!(gateways::lookup_order))
        .routes(routes!(gateways::activate))
        .routes(routes!(gateways::offline_activate))
        .routes(routes!(installs::record, installs::list))
        .routes(routes!(floating::create_pool))
        .routes(routes!(floating::list_pools))
        .routes(routes!(floating::reissue_token))
        .routes(routes!(floating::claim))
        .routes(routes!(floating::heartbeat))
        .routes(routes!(floating::release))
        .routes(routes!(floating::pool_status))
        .routes(routes!(field::checkout))
        .routes(routes!(field::get_allotment))
        .routes(routes!(field::reconcile))
        .routes(routes!(field::return_allotment))
        .routes(routes!(field::audit_log))
        .routes(routes!(admin::maintenance))
        .split_for_parts();
    let mut openapi = openapi;
    // After the routes: a modifier of `ApiDoc` runs before they are added.
    ErrorResponses.modify(&mut openapi);
    let openapi = std::sync::Arc::new(openapi);
    router
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        // After every route: it is set on the routes the router has now.
        .method_not_allowed_fallback(extract::method_not_allowed)
        .fallback(extract::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::middleware,
        ))
        .with_state(state)
}

//! The axum HTTP layer: routes, authentication, content negotiation and errors.

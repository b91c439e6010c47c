//! Query parameters a route does not take are refused (400) rather than ignored: a filter
//! misspelt, or spelt as another product spells it, would otherwise return everything. What
//! each route takes is read from the OpenAPI document at build time, so the document and the
//! check cannot disagree. Requests without a query string skip the check; the table of
//! routes is built at the first one with a query string.

use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/query_parameters.rs"));
}

/// Per path template, the query parameters of each method.
type Rules = matchit::Router<Vec<(&'static str, &'static [&'static str])>>;

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut by_path: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
        for (method, path, names) in generated::QUERY_PARAMETERS {
            by_path.entry(*path).or_default().push((*method, *names));
        }
        let mut router = matchit::Router::new();
        for (path, methods) in by_path {
            router
                .insert(path, methods)
                .expect("the document's paths are valid templates");
        }
        router
    })
}

/// Whether `name` is one of `allowed`, or a key of an object parameter (`customField[x]`).
fn is_allowed(name: &str, allowed: &[&str]) -> bool {
    allowed.iter().any(|a| match a.strip_suffix("[name]") {
        Some(object) => name
            .strip_prefix(object)
            .is_some_and(|rest| rest.starts_with('[') && rest.ends_with(']') && rest.len() > 2),
        None => *a == name,
    })
}

pub async fn refuse_unknown_query(request: Request, next: Next) -> Response {
    let Some(query) = request.uri().query().filter(|q| !q.is_empty()) else {
        return next.run(request).await;
    };
    let Ok(matched) = rules().at(request.uri().path()) else {
        return next.run(request).await;
    };
    let method = request.method().as_str();
    let Some((_, allowed)) = matched.value.iter().find(|(m, _)| *m == method) else {
        return next.run(request).await;
    };
    let mut unknown: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name.into_owned())
        .filter(|name| !is_allowed(name, allowed))
        .collect();
    if unknown.is_empty() {
        return next.run(request).await;
    }
    unknown.sort();
    unknown.dedup();
    let takes = if allowed.is_empty() {
        "this route takes no query parameters".to_string()
    } else {
        format!("this route takes {}", allowed.join(", "))
    };
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "unknown_query_parameter",
        format!("unknown query parameter {}; {takes}", unknown.join(", ")),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_parameters_take_any_key_and_nothing_else() {
        let allowed = ["limit", "customField[name]"];
        assert!(is_allowed("limit", &allowed));
        assert!(is_allowed("customField[drink]", &allowed));
        assert!(!is_allowed("customField[]", &allowed));
        assert!(!is_allowed("customField", &allowed));
        assert!(!is_allowed("customFieldX[drink]", &allowed));
        assert!(!is_allowed("offset", &allowed));
    }

    #[test]
    fn every_documented_route_has_its_rules() {
        let logs = rules().at("/api/v1/webhooks/logs").unwrap();
        let (_, names) = logs.value.iter().find(|(m, _)| *m == "GET").unwrap();
        assert!(names.contains(&"webhookId") && names.contains(&"cursor"));
        assert!(rules().at("/api/v1/webhooks/wh_1/logs").is_ok());
    }
}

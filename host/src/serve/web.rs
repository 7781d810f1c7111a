//! The web page, served by the binary itself: one HTML file, its script modules, one
//! stylesheet and an icon, all compiled in (no build step, no CDN). It calls the same API as
//! everyone else, with the token the user enters (kept in the browser's local storage).

use axum::Router;
use axum::http::header;
use axum::routing::get;

/// Every file of the page: the path it is served at, its type and its text.
const FILES: [(&str, &str, &str); 9] = [
    ("/", "text/html; charset=utf-8", include_str!("../../web/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_str!("../../web/app.js")),
    ("/dom.js", "text/javascript; charset=utf-8", include_str!("../../web/dom.js")),
    ("/histogram.js", "text/javascript; charset=utf-8", include_str!("../../web/histogram.js")),
    ("/logs.js", "text/javascript; charset=utf-8", include_str!("../../web/logs.js")),
    ("/reports.js", "text/javascript; charset=utf-8", include_str!("../../web/reports.js")),
    ("/board.js", "text/javascript; charset=utf-8", include_str!("../../web/board.js")),
    ("/style.css", "text/css; charset=utf-8", include_str!("../../web/style.css")),
    ("/favicon.svg", "image/svg+xml", include_str!("../../web/favicon.svg")),
];

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let icon = FILES.iter().find(|(path, _, _)| *path == "/favicon.svg").map_or("", |(_, _, text)| text);
    let router = Router::new()
        .route("/favicon.ico", get(move || async move { ([(header::CONTENT_TYPE, "image/svg+xml")], icon) }));
    FILES.into_iter().fold(router, |router, (path, content_type, text)| {
        router.route(path, get(move || async move { ([(header::CONTENT_TYPE, content_type)], text) }))
    })
}

//! An upstream API for `make bench` that takes a millisecond to answer, as the slower of the two upstreams the
//! proxy is measured against (nginx's `return 200` is the one that answers at once, and nginx cannot wait).
//! Every path answers 200 with the same 100-byte JSON body after `PROVIDER_TIME`. It listens on a free loopback
//! port, prints `BENCH_UPSTREAM_READY http://127.0.0.1:PORT`, and runs until stopped.

use std::time::Duration;

/// How long each answer takes: far quicker than any real provider's API.
const PROVIDER_TIME: Duration = Duration::from_millis(1);
const BODY: &str =
    r#"{"things":[1,2,3],"note":"a body of about one hundred bytes from the upstream, padded to size....."}"#;

#[tokio::main]
async fn main() {
    let answer = || async {
        tokio::time::sleep(PROVIDER_TIME).await;
        ([("content-type", "application/json")], BODY)
    };
    let router = axum::Router::new().fallback(answer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
    println!("BENCH_UPSTREAM_READY http://{}", listener.local_addr().expect("an address"));
    axum::serve(listener, router).await.expect("the upstream serves");
}

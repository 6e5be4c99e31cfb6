//! Square's official Python SDK (`squareup`) runs the card-on-file flows against the sandbox
//! unchanged: customers, customer cards, the Cards API and its pager, and typed errors.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_runs_the_card_on_file_flows() {
    let sb = common::start().await;
    let url = sb.sandbox.url();
    tokio::task::spawn_blocking(move || common::run_interop("square_flow.py", &url, "square"))
        .await
        .expect("interop script ran");
}
